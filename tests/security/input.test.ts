import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoisonMessageError, processMessage } from '../../src/cdc/envelope.js';
import { type ConfigError, loadConfig } from '../../src/config/env.js';
import { generateData } from '../../src/datagen/generate.js';
import { createLogger } from '../../src/logging/logger.js';
import { type App, as, createTestApp, gql } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/* Input that used to leak a stack trace, match too much, stall the bridge or reach a log. */

let t: TestDatabase;
let app: App;
beforeAll(async () => {
  t = await createTestDatabase('input_sec');
  await generateData(t.pool, { categories: 2, products: 5, customers: 6, seed: 3 });
  app = createTestApp(t).app;
});
afterAll(() => t?.drop());

describe('dates outside what the API accepts', () => {
  it('REST answers 400 with the allowed range, not 500 with a stack trace', async () => {
    const admin = await app.fetch('http://localhost/customers?createdFrom=-271821-04-20T00:00:00Z', { headers: await as('admin') });
    expect(admin.status).toBe(400);
    const text = await admin.text();
    expect(text).not.toMatch(/node_modules|at .*\.js:\d+|prisma/i);
    const body = JSON.parse(text);
    expect(body.error).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(body.error.message).toMatch(/createdFrom must be a date-time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z/);
  });

  it('GraphQL answers BAD_USER_INPUT for the same date, as a literal and as a variable', async () => {
    const literal = await gql(app, '{ customers(createdFrom: "+275760-09-13T00:00:00Z") { totalCount } }');
    expect(literal.errors![0]!.message).toMatch(/date-time from 0001-01-01/);
    const variable = await gql(app, 'query($d: DateTime) { orders(from: $d) { totalCount } }', { d: '-271821-04-20T00:00:00Z' });
    expect(variable.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(variable)).not.toMatch(/prisma|node_modules/i);
  });
});

describe('search', () => {
  it('matches LIKE wildcards literally', async () => {
    const total = await t.db.customer.count();
    const customer = await t.db.customer.findFirstOrThrow();
    await t.db.customer.update({ where: { customerId: customer.customerId }, data: { lastName: 'Fifty%Off_Smith' } });
    const count = async (search: string) =>
      (await gql<any, any>(app, 'query($s: String) { customers(search: $s) { totalCount } }', { s: search })).data.customers.totalCount as number;
    expect(total).toBeGreaterThan(1);
    expect(await count('%')).toBe(1);
    expect(await count('_')).toBe(1);
    expect(await count('%Off_')).toBe(1);
    expect(await count('y%O')).toBe(1);
    expect(await count('ty_O')).toBe(0);
    expect(await count('\\')).toBe(0);
    const rest = await app.fetch('http://localhost/products?search=%25', { headers: await as('admin') });
    expect((await rest.json()).pagination.total).toBe(0);
  });
});

describe('change messages the bridge cannot use', () => {
  it('names the bad key or column instead of throwing outside the dead-letter path', () => {
    const message = (key: string | null, after: Record<string, unknown>) =>
      processMessage({ topic: 'shop.public.behavior_events', key, value: JSON.stringify({ op: 'c', after, source: { ts_ms: 1 } }) }, 'shop');
    expect(() => message('{"event_id":"abc"}', { event_id: 1 })).toThrow(PoisonMessageError);
    expect(() => message('{"event_id":"abc"}', { event_id: 1 })).toThrow(/key does not convert to a behavior_events row/);
    expect(() => message('not json', { event_id: 1 })).toThrow(/key is not JSON/);
    expect(() => message(null, { event_id: 'abc' })).toThrow(/after does not convert/);
    expect(message('{"event_id":7}', { event_id: 7 })!.after).toEqual({ eventId: 7n });
  });
});

describe('logs', () => {
  it('redact authorization headers, tokens and passwords', () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const logger = createLogger('info', {}, sink);
    logger.info({ req: { headers: { authorization: 'Bearer eyJhbGciOi.secret.sig', host: 'x' } } }, 'request');
    logger.info({ connectionParams: { authorization: 'Bearer ws-secret' }, config: { password: 'pg-secret', 'database.password': 'dbz-secret' } }, 'init');
    logger.info({ token: 'minted-secret', user: { password: 'hunter2' } }, 'other');
    expect(out).toMatch(/\[redacted\]/);
    for (const secret of ['eyJhbGciOi', 'ws-secret', 'pg-secret', 'dbz-secret', 'minted-secret', 'hunter2']) expect(out).not.toContain(secret);
    expect(out).toContain('"host":"x"');
  });
});

describe('configuration', () => {
  it('names the fix for every bad security setting', () => {
    try {
      loadConfig({ ADMIN_TOKEN: 'x'.repeat(20), AUTH_SECRET: 'short', CORS_ORIGINS: 'https://ok.example/,*', ALLOWED_HOSTS: 'a b', WS_MAX_SUBSCRIPTIONS: '0' });
      expect.unreachable();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/ADMIN_TOKEN is no longer used: .*npx rtrec token --role admin/);
      expect(problems).toMatch(/AUTH_SECRET must be at least 32 characters/);
      expect(problems).toMatch(/CORS_ORIGINS must be origins separated by commas/);
      expect(problems).toMatch(/ALLOWED_HOSTS must be host names/);
      expect(problems).toMatch(/WS_MAX_SUBSCRIPTIONS must be between 1 and 10000/);
    }
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://issuer.example/jwks', AUTH_SECRET: 'x'.repeat(40) })).toThrow(/either AUTH_JWKS_URL .* or AUTH_SECRET/);
  });
});

describe('connector files', () => {
  it('refuse a Debezium connector that would publish customers.password_hash', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { DEFAULT_CONNECTOR_FILE, loadConnector, placeholdersFor } = await import('../../src/cdc/connector.js');
    const placeholders = placeholdersFor('postgresql://app:pw@localhost:5432/shop', 'shop');
    expect(loadConnector(DEFAULT_CONNECTOR_FILE, placeholders).config['column.exclude.list']).toContain('public.customers.password_hash');
    const dir = mkdtempSync(join(tmpdir(), 'rtrec-conn-'));
    const write = (config: Record<string, string>) => {
      const file = join(dir, `${Object.keys(config).length}-${Math.random()}.json`);
      writeFileSync(
        file,
        JSON.stringify({ name: 'x', config: { 'connector.class': 'io.debezium.connector.postgresql.PostgresConnector', 'topic.prefix': 'p', ...config } }),
      );
      return file;
    };
    expect(() => loadConnector(write({}), placeholders)).toThrow(/would publish public.customers.password_hash .*column.exclude.list/);
    expect(() => loadConnector(write({ 'table.include.list': 'public.customers' }), placeholders)).toThrow(/password_hash/);
    expect(() => loadConnector(write({ 'column.include.list': 'public.customers.*' }), placeholders)).toThrow(/password_hash/);
    expect(loadConnector(write({ 'table.include.list': 'public.orders' }), placeholders).name).toBe('x');
    expect(loadConnector(write({ 'column.exclude.list': 'public.customers.password_hash' }), placeholders).name).toBe('x');
  });
});

describe('CSV fields', () => {
  it('a field over the size cap stops the import naming its line, column and the fix, and nothing is written', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { importLog, IMPORT_TABLES } = await import('../../src/importer/import-log.js');
    const { parseColumnMapping, parseTypeMapping } = await import('../../src/importer/mapping.js');
    const { MAX_FIELD_LENGTH } = await import('../../src/importer/csv.js');
    const { countRows } = await import('../../src/database/counts.js');
    const dir = mkdtempSync(join(tmpdir(), 'rtrec-csv-'));
    try {
      const good = 'u1,i1,view,2026-03-01T10:00:00Z';
      // An unclosed quote on line 3 would swallow the rest of the file as one field.
      const unclosed = join(dir, 'unclosed.csv');
      writeFileSync(unclosed, `user,item,type,ts\n${good}\nu2,"i2,view,2026-03-01T10:00:00Z\n${`${good}\n`.repeat(3000)}`);
      const huge = join(dir, 'huge.csv');
      writeFileSync(huge, `user,item,type,ts\n${good}\n${good}\nu3,i3,${'v'.repeat(MAX_FIELD_LENGTH + 1)},2026-03-01T10:00:00Z\n`);
      const before = await countRows(t.pool, IMPORT_TABLES);
      const run = (file: string) =>
        importLog(
          { pool: t.pool, db: t.db, logger: t.logger },
          { file, mapping: parseColumnMapping('user=user,item=item,type=type,timestamp=ts'), types: parseTypeMapping('view=view_product'), source: 'capped' },
        );
      await expect(run(unclosed)).rejects.toThrow(
        /unclosed\.csv has bad rows; nothing was imported:\n {2}line 3, column "item" \(2\): a field longer than 65536 characters; check that its quotes are closed/,
      );
      await expect(run(huge)).rejects.toThrow(/line 4, column "type" \(3\): a field longer than 65536 characters; .* or shorten the field/);
      expect(await countRows(t.pool, IMPORT_TABLES)).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
