import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../src/database/database.js';
import { EmbeddedPostgres } from '../../src/database/embedded.js';
import { FLINK_WRITE_TABLES, grantRolePrivileges, PUBLISHED_TABLES } from '../../src/database/privileges.js';
import { DB_ROLES, EMBEDDED_ROLE_NAMES } from '../../src/database/roles.js';
import { generateData } from '../../src/datagen/generate.js';
import { FEATURE_CONTRACTS, RESULT_CONTRACTS, TABLE_CONTRACTS } from '../../src/flink/contracts.js';
import { createLogger } from '../../src/logging/logger.js';
import { createTestDatabase, roleUrl, type TestDatabase } from '../helpers/db.js';
import { freePort } from '../helpers/net.js';

/*
 * Least privilege on the run's real PostgreSQL: the roles the embedded server creates, granted on a database
 * migrated by the owner (as `rtrec` prepares one), each allowed what its component needs and refused the rest.
 */

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('roles');
  await generateData(t.pool, { categories: 2, products: 4, customers: 3, seed: 1 });
});
afterAll(() => t?.drop());

/** Runs `sql` as a role on the test database; resolves to the error message, or undefined when it succeeded. */
async function as(role: 'owner' | 'api' | 'cdc' | 'flink', sql: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: roleUrl(role, t.name) });
  await client.connect();
  try {
    await client.query(sql);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end();
  }
}

async function attributes(role: 'owner' | 'api' | 'cdc' | 'flink') {
  const { rows } = await t.pool.query<{ rolsuper: boolean; rolreplication: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolbypassrls: boolean }>(
    'SELECT rolsuper, rolreplication, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = $1',
    [EMBEDDED_ROLE_NAMES[role]],
  );
  return rows[0]!;
}

describe('the API role', () => {
  it('reads and writes the shop tables', async () => {
    expect(await as('api', "INSERT INTO categories (name) VALUES ('api-role')")).toBeUndefined();
    expect(await as('api', "UPDATE categories SET description = 'x' WHERE name = 'api-role'")).toBeUndefined();
    expect(await as('api', 'SELECT count(*) FROM customers')).toBeUndefined();
    expect(await as('api', "DELETE FROM categories WHERE name = 'api-role'")).toBeUndefined();
    expect(await as('api', 'TRUNCATE imported_events')).toBeUndefined();
  });

  it('cannot run DDL, is not a superuser and cannot touch the migrations table', async () => {
    expect(await as('api', 'CREATE TABLE api_made (a int)')).toMatch(/permission denied for schema public/);
    expect(await as('api', 'CREATE SCHEMA api_schema')).toMatch(/permission denied for database/);
    expect(await as('api', 'ALTER TABLE customers ADD COLUMN x int')).toMatch(/must be owner of table customers/);
    expect(await as('api', 'DROP TABLE orders')).toMatch(/must be owner of table orders/);
    expect(await as('api', 'DELETE FROM _prisma_migrations')).toMatch(/permission denied for table _prisma_migrations/);
    expect(await attributes('api')).toEqual({ rolsuper: false, rolreplication: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false });
  });
});

describe('the Debezium role', () => {
  it('has REPLICATION and reads the published tables only', async () => {
    expect(await attributes('cdc')).toMatchObject({ rolsuper: false, rolreplication: true, rolcreatedb: false });
    for (const table of PUBLISHED_TABLES) expect(await as('cdc', `SELECT * FROM ${table} LIMIT 1`), table).toBeUndefined();
    expect(await as('cdc', 'SELECT * FROM sim_customer_tastes')).toMatch(/permission denied/);
    expect(await as('cdc', 'SELECT * FROM fraud_alerts')).toMatch(/permission denied/);
  });

  it('cannot write anything, nor create a publication', async () => {
    expect(await as('cdc', "INSERT INTO categories (name) VALUES ('cdc-role')")).toMatch(/permission denied for table categories/);
    expect(await as('cdc', "UPDATE customers SET first_name = 'x'")).toMatch(/permission denied for table customers/);
    expect(await as('cdc', 'DELETE FROM orders')).toMatch(/permission denied for table orders/);
    expect(await as('cdc', 'CREATE TABLE cdc_made (a int)')).toMatch(/permission denied/);
    expect(await as('cdc', 'CREATE PUBLICATION cdc_pub FOR TABLE customers')).toMatch(/permission denied|must be owner/);
  });
});

describe('the Flink role', () => {
  it('writes its result and feature tables (upserts) and reads products for the lookup join', async () => {
    const sinks = [...Object.values(RESULT_CONTRACTS), ...Object.values(FEATURE_CONTRACTS), ...Object.values(TABLE_CONTRACTS)].map((c) => c.table);
    expect([...FLINK_WRITE_TABLES].sort()).toEqual(sinks.sort());
    const upsert = `INSERT INTO revenue_stats (window_start, window_end, window_seconds, revenue, order_count, avg_order_value)
      VALUES ('2026-01-01', '2026-01-01 00:01', 60, 10, 1, 10)
      ON CONFLICT (window_seconds, window_start) DO UPDATE SET revenue = EXCLUDED.revenue`;
    expect(await as('flink', upsert)).toBeUndefined();
    expect(await as('flink', upsert)).toBeUndefined();
    expect(await as('flink', 'INSERT INTO rec_product_trend (product_id, window_end, score) VALUES (1, now(), 1)')).toBeUndefined();
    expect(await as('flink', 'DELETE FROM rec_product_trend WHERE product_id = 1')).toBeUndefined();
    expect(await as('flink', 'SELECT product_id, category_id FROM products')).toBeUndefined();
  });

  it('cannot write the shop tables, read customers, or run DDL', async () => {
    expect(await as('flink', 'INSERT INTO orders (total_price, customer_id) VALUES (1, 1)')).toMatch(/permission denied for table orders/);
    expect(await as('flink', 'UPDATE products SET price = 0 WHERE product_id = 1')).toMatch(/permission denied for table products/);
    expect(await as('flink', 'DELETE FROM customers')).toMatch(/permission denied for table customers/);
    expect(await as('flink', 'SELECT email FROM customers')).toMatch(/permission denied for table customers/);
    expect(await as('flink', 'CREATE TABLE flink_made (a int)')).toMatch(/permission denied/);
    expect(await attributes('flink')).toMatchObject({ rolsuper: false, rolreplication: false });
  });
});

describe('the owner role', () => {
  it('owns the schema: runs DDL, but is no superuser', async () => {
    expect(await as('owner', 'CREATE TABLE owner_made (a int); DROP TABLE owner_made')).toBeUndefined();
    expect(await attributes('owner')).toMatchObject({ rolsuper: false, rolreplication: false });
    const { rows } = await t.pool.query<{ owner: string }>("SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = 'public'");
    expect(rows.map((r) => r.owner)).toEqual([EMBEDDED_ROLE_NAMES.owner]);
  });

  it("may skip foreign-key triggers in its batch writers' transactions (SET on one parameter), the API role may not", async () => {
    expect(await as('owner', 'BEGIN; SET LOCAL session_replication_role = replica; COMMIT')).toBeUndefined();
    expect(await as('api', 'BEGIN; SET LOCAL session_replication_role = replica; COMMIT')).toMatch(/permission denied to set parameter/);
  });
});

describe('secrets on disk', () => {
  it('keeps the data folder 0700 (0710 for the postgres group when run as root) and every password file 0600', () => {
    const dataDir = inject('pgDataDir');
    const mode = statSync(dataDir).mode & 0o777;
    expect(mode).toBe(process.getuid?.() === 0 ? 0o710 : 0o700);
    const passwords = join(dataDir, 'pg-passwords');
    expect(statSync(passwords).mode & 0o777).toBe(0o700);
    const files = readdirSync(passwords);
    expect(files.sort()).toEqual(
      Object.values(EMBEDDED_ROLE_NAMES)
        .map((r) => `${r}.properties`)
        .sort(),
    );
    for (const file of [...files.map((f) => join(passwords, f)), join(dataDir, 'pg-superuser-password')]) expect(statSync(file).mode & 0o777, file).toBe(0o600);
  });
});

describe('an install from before the roles', () => {
  let dataDir: string;
  let server: EmbeddedPostgres | undefined;
  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('gets the roles on its next start, its objects handed to the owner, and says so in the log', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rtrec-roles-'));
    const port = await freePort();
    const options = { dataDir, port, database: 'shop' };
    server = new EmbeddedPostgres(options);
    await server.start();
    // Back to what an older version left: no roles, the database and every object the superuser's.
    const admin = new pg.Client({ connectionString: server.url('postgres') });
    await admin.connect();
    await admin.query(`ALTER DATABASE shop OWNER TO postgres`);
    await admin.query(`REVOKE SET ON PARAMETER session_replication_role FROM ${EMBEDDED_ROLE_NAMES.owner}`);
    for (const role of Object.values(EMBEDDED_ROLE_NAMES)) await admin.query(`DROP ROLE ${role}`);
    await admin.end();
    rmSync(join(dataDir, 'pg-passwords'), { recursive: true });
    await migrate(server.url('shop'));
    const old = new pg.Client({ connectionString: server.url('shop') });
    await old.connect();
    await old.query('CREATE PUBLICATION rtrec_cdc FOR TABLE categories, products');
    await old.end();

    const lines: string[] = [];
    const logger = createLogger('info', {}, new Writable({ write: (chunk, _e, done) => done(void lines.push(String(chunk))) }));
    const upgraded = new EmbeddedPostgres({ ...options, logger });
    await upgraded.start();
    const urls = upgraded.urls();
    await grantRolePrivileges(urls);

    const log = lines.join('');
    expect(log).toMatch(/created least-privilege database roles rtrec_owner, rtrec_api, rtrec_cdc, rtrec_flink/);
    expect(log).toMatch(/upgraded database shop to least-privilege roles: it and its \d+ objects now belong to rtrec_owner/);
    expect(log).toMatch(/npx rtrec cdc register/);
    for (const role of DB_ROLES) expect(log).not.toContain(decodeURIComponent(new URL(urls[role]).password));

    const check = new pg.Client({ connectionString: upgraded.url('shop') });
    await check.connect();
    try {
      const owners = await check.query(
        `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S', 'i')`,
      );
      expect(owners.rows).toEqual([{ owner: 'rtrec_owner' }]);
      const publication = await check.query(`SELECT pg_get_userbyid(pubowner) AS owner FROM pg_publication WHERE pubname = 'rtrec_cdc'`);
      expect(publication.rows).toEqual([{ owner: 'rtrec_owner' }]);
      const types = await check.query(
        `SELECT DISTINCT pg_get_userbyid(typowner) AS owner FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'`,
      );
      expect(types.rows).toEqual([{ owner: 'rtrec_owner' }]);
    } finally {
      await check.end();
    }
    const api = new pg.Client({ connectionString: urls.api });
    await api.connect();
    try {
      expect((await api.query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(0);
      await expect(api.query('CREATE TABLE x (a int)')).rejects.toThrow(/permission denied/);
    } finally {
      await api.end();
    }
    // A second start changes nothing and says nothing.
    lines.length = 0;
    await new EmbeddedPostgres({ ...options, logger }).start();
    expect(lines.join('')).toBe('');
  }, 180_000);
});
