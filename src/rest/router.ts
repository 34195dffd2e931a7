import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type pg from 'pg';
import { buildWhere, DATE_RANGE, DEFAULT_PAGE_SIZE, type FilterSpec, inDateRange, MAX_PAGE_SIZE, RESOURCES, type Resource } from '../api/resources.js';
import type { Db } from '../database/database.js';
import type { EntityReader } from '../database/entity-reader.js';
import { AppError } from '../errors.js';
import * as Enums from '../generated/prisma/enums.js';
import { maskRow, type ReadScope, rowFilter, scopeOf } from '../security/policy.js';
import type { Principal } from '../security/principal.js';
import type { TokenService } from '../security/tokens.js';
import { openApiDocument, publicScalarFields } from './openapi.js';

export interface RestDeps {
  db: Db;
  pool: pg.Pool;
  reader: EntityReader;
  version: string;
  tokens: TokenService;
}

const require = createRequire(import.meta.url);
const swaggerDir = dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png']);

const json = (body: unknown, status = 200) =>
  new Response(
    JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    { status, headers: { 'content-type': 'application/json; charset=utf-8' } },
  );
const error = (status: number, code: string, message: string) => json({ error: { code, message } }, status);

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtrec REST API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });</script>
</body></html>`;

function parseValue(name: string, raw: string, type: string): unknown {
  const fail = (what: string) => {
    throw new AppError('BAD_USER_INPUT', `Query parameter ${name} must be ${what}, got "${raw}".`, { field: name });
  };
  if (type === 'Int') return /^\d{1,10}$/.test(raw) && Number(raw) <= 2_147_483_647 ? Number(raw) : fail('a positive integer');
  if (type === 'Boolean') return raw === 'true' ? true : raw === 'false' ? false : fail('true or false');
  if (type === 'DateTime') {
    const d = new Date(raw);
    if (Number.isNaN(d.getTime())) return fail('an ISO-8601 date-time');
    return inDateRange(d) ? d : fail(`a date-time from ${DATE_RANGE.min} to ${DATE_RANGE.max}`);
  }
  if (type === 'Decimal') return /^-?\d{1,8}(\.\d{1,2})?$/.test(raw) ? raw : fail('a money amount like 19.99');
  if (type === 'String') return raw.length <= 200 ? raw : fail('at most 200 characters');
  const values = Object.values((Enums as Record<string, Record<string, string>>)[type] ?? {});
  return values.includes(raw) ? raw : fail(`one of ${values.join(', ')}`);
}

function filterParams(f: FilterSpec): { name: string; type: string }[] {
  if (f.kind === 'eq') return [{ name: f.arg, type: f.type }];
  if (f.kind === 'contains') return [{ name: f.arg, type: 'String' }];
  return [
    { name: f.min, type: f.type },
    { name: f.max, type: f.type },
  ];
}

async function list(deps: RestDeps, r: Resource, url: URL, principal: Principal): Promise<Response> {
  const scope: ReadScope = scopeOf({ principal });
  const allowedRows = rowFilter(r.model, scope);
  if (allowedRows === 'deny') {
    throw principal.role === 'anonymous'
      ? new AppError('UNAUTHENTICATED', `${r.restPath} needs a token: send Authorization: Bearer <token> (npx rtrec token --role <role>).`)
      : new AppError('FORBIDDEN', `${r.restPath} is not allowed for the ${principal.role} role.`);
  }
  const allowed = new Map([['limit', 'Int'], ['offset', 'Int'], ['order', 'String'], ...r.filters.flatMap(filterParams).map((p) => [p.name, p.type] as const)]);
  const args: Record<string, unknown> = {};
  for (const [name, raw] of url.searchParams) {
    const type = allowed.get(name);
    if (!type) throw new AppError('BAD_USER_INPUT', `Unknown query parameter "${name}". Allowed: ${[...allowed.keys()].join(', ')}.`, { field: name });
    args[name] = parseValue(name, raw, type);
  }
  const limit = (args.limit as number | undefined) ?? DEFAULT_PAGE_SIZE;
  const offset = (args.offset as number | undefined) ?? 0;
  if (limit < 1 || limit > MAX_PAGE_SIZE) throw new AppError('BAD_USER_INPUT', `limit must be from 1 to ${MAX_PAGE_SIZE}.`, { field: 'limit' });
  if (args.order !== undefined && args.order !== 'asc' && args.order !== 'desc')
    throw new AppError('BAD_USER_INPUT', 'order must be asc or desc.', { field: 'order' });
  const filters = buildWhere(r, args);
  const where = Object.keys(allowedRows).length ? { AND: [filters, allowedRows] } : filters;
  const select = Object.fromEntries(publicScalarFields(r.model).map((f) => [f.name, true]));
  const { rows: data, total = 0 } = await deps.reader.findMany(
    r.model,
    { where, select, orderBy: { [r.idField]: args.order ?? 'asc' }, take: limit, skip: offset },
    where,
  );
  let next: string | null = null;
  if (offset + limit < total) {
    const nextUrl = new URL(url);
    nextUrl.searchParams.set('offset', String(offset + limit));
    nextUrl.searchParams.set('limit', String(limit));
    next = `${nextUrl.pathname}${nextUrl.search}`;
  }
  return json({ data: data.map((row) => maskRow(r.model, row as Record<string, unknown>, scope)), pagination: { limit, offset, total, next } });
}

const STATUS: Partial<Record<AppError['code'], number>> = { NOT_FOUND: 404, UNAUTHENTICATED: 401, FORBIDDEN: 403 };

/**
 * The seed's REST endpoints (read-only, paginated JSON) plus /health, /docs and /openapi.json.
 * Returns undefined for paths it does not own, so GraphQL handles the rest.
 */
export function createRestRouter(deps: RestDeps) {
  const byPath = new Map(RESOURCES.map((r) => [r.restPath, r]));
  const spec = openApiDocument(deps.version);
  return async function handle(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const resource = byPath.get(path);
    const known = resource || ['/', '/health', '/docs', '/openapi.json'].includes(path) || path.startsWith('/docs/assets/');
    if (!known) return undefined;
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return error(405, 'METHOD_NOT_ALLOWED', 'The REST endpoints are read-only: use GET, or GraphQL mutations at /graphql.');
    try {
      if (path === '/') {
        return json({
          name: 'rtrec',
          description: 'Real-time customer-behaviour recommendation platform',
          version: deps.version,
          graphql: '/graphql',
          docs: '/docs',
          openapi: '/openapi.json',
          health: '/health',
          endpoints: RESOURCES.map((r) => r.restPath),
        });
      }
      if (path === '/health') {
        const started = performance.now();
        try {
          await deps.pool.query('SELECT 1');
          return json({ status: 'ok', database: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 });
        } catch {
          return json({ status: 'degraded', database: 'down' }, 503);
        }
      }
      if (path === '/openapi.json') return json(spec);
      if (path === '/docs') return new Response(DOCS_HTML, { headers: { 'content-type': 'text/html; charset=utf-8' } });
      if (path.startsWith('/docs/assets/')) {
        const file = path.slice('/docs/assets/'.length);
        if (!SWAGGER_ASSETS.has(file)) return error(404, 'NOT_FOUND', 'No such asset.');
        const type = file.endsWith('.css') ? 'text/css' : file.endsWith('.png') ? 'image/png' : 'application/javascript';
        return new Response(await readFile(join(swaggerDir, file)), { headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' } });
      }
      return await list(deps, resource!, url, await deps.tokens.authenticate(request.headers.get('authorization')));
    } catch (e) {
      if (e instanceof AppError) return error(STATUS[e.code] ?? 400, e.code, e.message);
      throw e;
    }
  };
}
