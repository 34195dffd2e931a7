import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, validate } from 'graphql';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { describeToken } from '../../dashboard/src/auth.js';
import * as operations from '../../dashboard/src/operations.js';
import { engineHealth, parseSamples } from '../../dashboard/src/prometheus.js';
import { CDC_TABLES } from '../../src/cdc/tables.js';
import { schema } from '../../src/graphql/schema/index.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { DASHBOARD_CSP, useDashboard } from '../../src/server/dashboard.js';
import { parseDecodedRow } from '../helpers/pg-changes.js';

/*
 * The dashboard's logic that needs no browser: its GraphQL operations against the server's schema, its reading
 * of /metrics, its token check, and the server's static route. The page itself is tested in Chromium
 * (tests/e2e/dashboard.test.ts).
 */

const documents = Object.entries(operations as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string');

describe("the dashboard's GraphQL operations", () => {
  it.each(documents)('%s is valid against the server schema', (_name, document) => {
    expect(validate(schema, parse(document)).map((e) => e.message)).toEqual([]);
  });

  it('follows every captured table by its key', () => {
    expect(operations.CHANGE_TABLES).toEqual(Object.fromEntries(Object.entries(CDC_TABLES).map(([table, { key }]) => [table, key])));
  });
});

describe("the dashboard's reading of /metrics", () => {
  it('parses samples with escaped label values and skips other metrics and comments', () => {
    const text = '# HELP x\nrtrec_engine_up{engine="flink"} 1\nrtrec_other 5\nrtrec_flink_job_state{job="a\\"b",state="RUNNING"} 1 1700000000\n';
    expect(parseSamples(text, new Set(['rtrec_engine_up', 'rtrec_flink_job_state']))).toEqual([
      { name: 'rtrec_engine_up', labels: { engine: 'flink' }, value: 1 },
      { name: 'rtrec_flink_job_state', labels: { job: 'a"b', state: 'RUNNING' }, value: 1 },
    ]);
  });

  it('reads the engines from the real registry’s text: down when their REST APIs do not answer', async () => {
    const pool = new pg.Pool({ max: 1 });
    const metrics = createMetrics({
      pool,
      bridge: () => ({ connected: true }) as never,
      engines: { flinkRestUrl: 'http://127.0.0.1:9', connectUrl: 'http://127.0.0.1:9', timeoutMs: 50 },
      defaults: false,
    });
    const health = engineHealth(await metrics.registry.metrics());
    await pool.end();
    expect(health).toMatchObject({ flink: { up: false, jobs: [] }, connect: { up: false, connectors: [] }, bridge: true });
  });

  it('gathers jobs, connectors and tasks with their current state', () => {
    const text = [
      'rtrec_engine_up{engine="flink"} 1',
      'rtrec_engine_up{engine="connect"} 1',
      'rtrec_flink_job_state{job="fraud-detection",state="RUNNING"} 1',
      'rtrec_flink_job_restarts{job="fraud-detection"} 2',
      'rtrec_flink_job_lag_records{job="fraud-detection"} 7',
      'rtrec_connect_connector_state{connector="rtrec-postgres",state="RUNNING"} 1',
      'rtrec_connect_task_state{connector="rtrec-postgres",task="0",state="FAILED"} 1',
      'rtrec_kafka_bridge_connected 0',
    ].join('\n');
    expect(engineHealth(text)).toEqual({
      flink: { up: true, jobs: [{ name: 'fraud-detection', state: 'RUNNING', restarts: 2, lag: 7 }] },
      connect: { up: true, connectors: [{ name: 'rtrec-postgres', state: 'RUNNING', tasks: [{ id: '0', state: 'FAILED' }] }] },
      bridge: false,
    });
  });
});

describe("the dashboard's token check", () => {
  const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

  it('reads role, customer and expiry for display', () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    expect(describeToken(jwt({ role: 'customer', customer_id: 7, exp }))).toMatchObject({ role: 'customer', customerId: 7, expiresAt: exp * 1000 });
  });

  it('refuses what is not a JWT, or has expired, saying how to get a new one', () => {
    expect(() => describeToken('hello')).toThrow(/npx rtrec token/);
    expect(() => describeToken(jwt({ role: 'admin', exp: 1 }))).toThrow(/expired.*npx rtrec token/);
  });
});

describe('the /dashboard route', () => {
  const base = mkdtempSync(join(tmpdir(), 'rtrec-dash-'));
  const dist = join(base, 'dist');
  mkdirSync(dist);
  // Next to the build: what a path escaping it would reach.
  writeFileSync(join(base, 'secret.html'), 'secret');
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  async function get(path: string, options: { dist?: string; method?: string } = {}): Promise<Response | undefined> {
    let answer: Response | undefined;
    const onRequest = useDashboard({ dist: options.dist ?? dist }).onRequest!;
    const url = new URL(`http://localhost${path}`);
    await onRequest({ url, request: new Request(url, { method: options.method ?? 'GET' }), endResponse: (r: Response) => (answer = r) } as never);
    return answer;
  }

  it('answers 503 with the build command while the dashboard is not built', async () => {
    const response = (await get('/dashboard', { dist: join(dist, 'missing') }))!;
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/npm run dashboard:build/);
    expect(response.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
  });

  it('serves the page and its assets with the security headers, and nothing else', async () => {
    writeFileSync(join(dist, 'index.html'), '<!doctype html>');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'assets', 'index-abc.js'), 'export {}');
    writeFileSync(join(dist, '.inputs.json'), '[]');
    writeFileSync(join(dist, 'notes.txt'), 'secret');
    const page = (await get('/dashboard/'))!;
    expect([page.status, page.headers.get('content-type'), page.headers.get('cache-control')]).toEqual([200, 'text/html; charset=utf-8', 'no-cache']);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const script = (await get('/dashboard/assets/index-abc.js'))!;
    expect([script.status, script.headers.get('cache-control'), await script.text()]).toEqual([200, 'public, max-age=31536000, immutable', 'export {}']);
    for (const path of [
      '/dashboard/.inputs.json',
      '/dashboard/notes.txt',
      '/dashboard/..%2fsecret.html',
      '/dashboard/assets/..%2f..%2fsecret.html',
      '/dashboard/assets/%E0%A4%A',
    ]) {
      expect((await get(path))?.status, path).toBe(404);
    }
    expect((await get('/dashboard', { method: 'POST' }))?.status).toBe(405);
    // Other paths are not its business.
    expect(await get('/dashboards')).toBeUndefined();
    expect(await get('/graphql')).toBeUndefined();
  });
});

describe('the test feed from logical decoding', () => {
  it('turns test_decoding rows into change events in the entity shape', () => {
    const at = new Date();
    const update = parseDecodedRow(
      "table public.customers: UPDATE: customer_id[integer]:4 first_name[character varying]:'O''Brien' updated_at[timestamp with time zone]:'2026-12-02 05:41:00.123+00' password_hash[text]:'x'",
      at,
      '0/1',
    );
    expect(update).toMatchObject({ table: 'customers', operation: 'UPDATE', before: null, after: { customerId: 4, firstName: "O'Brien" }, lsn: '0/1' });
    expect((update!.after!.updatedAt as Date).toISOString()).toBe('2026-12-02T05:41:00.123Z');
    expect(update!.after).not.toHaveProperty('passwordHash');
    expect(parseDecodedRow('table public.carts: DELETE: cart_id[integer]:9', at, '0/2')).toMatchObject({
      operation: 'DELETE',
      before: { cartId: 9 },
      after: null,
    });
    expect(parseDecodedRow('table public.behavior_events: INSERT: event_id[bigint]:12 context[jsonb]:\'{"a": 1}\'', at, '0/3')?.after).toEqual({
      eventId: 12n,
      context: { a: 1 },
    });
    expect(parseDecodedRow('table public.rec_item_support: INSERT: product_id[integer]:1', at, '0/4')).toBeUndefined();
  });
});
