import pg from 'pg';
import { CDC_TABLES } from '../cdc/tables.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { DatabaseUrls, DbRole } from './roles.js';
import { connectionFields } from './url.js';

/**
 * The tables the Flink jobs write (their JDBC sinks): the tables of src/flink/contracts.ts, listed here so that
 * `rtrec db` loads no Flink module (tests/security/database-roles.test.ts fails when the two differ).
 */
/** The feature tables Flink's recommendation-features job writes (features-sql.ts replaceFeaturesAsOf replaces them). */
export const FEATURE_TABLES = [
  'rec_customer_product',
  'rec_customer_category',
  'rec_product_stats',
  'rec_product_trend',
  'rec_cooccurrence',
  'rec_item_support',
] as const;
export const FLINK_WRITE_TABLES: readonly string[] = ['fraud_alerts', 'revenue_stats', 'top_products', ...FEATURE_TABLES, 'experiment_results'];
/** The tables the Flink jobs read through JDBC (top-products' lookup join). */
export const FLINK_READ_TABLES: readonly string[] = ['products'];
/** The tables the default connector captures and the publication publishes. */
export const PUBLISHED_TABLES: readonly string[] = Object.keys(CDC_TABLES);
/** Prisma's bookkeeping: only the owner writes it. */
const MIGRATIONS_TABLE = '_prisma_migrations';

const ident = (name: string) => pg.escapeIdentifier(name);

/**
 * Grants each role what it needs on the owner's tables, idempotently (run after every migration). Roles that
 * are the owner itself (a single external DATABASE_URL) are skipped: they already may do everything.
 */
export async function grantRolePrivileges(urls: DatabaseUrls, logger?: Logger): Promise<void> {
  const owner = connectionFields(urls.owner).user;
  const user = (role: DbRole) => connectionFields(urls[role]).user;
  const client = new pg.Client({ connectionString: urls.owner });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')`,
    );
    const tables = new Set(rows.map((r) => r.name));
    const existing = (names: readonly string[]) => names.filter((n) => tables.has(n)).map((n) => `public.${ident(n)}`);
    const statements: string[] = [];
    const api = user('api');
    if (api !== owner) {
      const dml = existing([...tables].filter((t) => t !== MIGRATIONS_TABLE));
      statements.push(`GRANT USAGE ON SCHEMA public TO ${ident(api)}`);
      if (dml.length) statements.push(`GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ${dml.join(', ')} TO ${ident(api)}`);
      if (tables.has(MIGRATIONS_TABLE)) statements.push(`GRANT SELECT ON public.${ident(MIGRATIONS_TABLE)} TO ${ident(api)}`);
      statements.push(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${ident(api)}`);
    }
    const cdc = user('cdc');
    if (cdc !== owner && cdc !== api) {
      const published = existing(PUBLISHED_TABLES);
      statements.push(`GRANT USAGE ON SCHEMA public TO ${ident(cdc)}`);
      if (published.length) statements.push(`GRANT SELECT ON ${published.join(', ')} TO ${ident(cdc)}`);
    }
    const flink = user('flink');
    if (flink !== owner && flink !== api) {
      const writes = existing(FLINK_WRITE_TABLES);
      const reads = existing(FLINK_READ_TABLES);
      statements.push(`GRANT USAGE ON SCHEMA public TO ${ident(flink)}`);
      if (writes.length) statements.push(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${writes.join(', ')} TO ${ident(flink)}`);
      if (reads.length) statements.push(`GRANT SELECT ON ${reads.join(', ')} TO ${ident(flink)}`);
    }
    if (statements.length === 0) return;
    await client.query('BEGIN');
    for (const statement of statements) await client.query(statement);
    await client.query('COMMIT');
    logger?.debug({ roles: { api, cdc, flink } }, 'database role privileges granted');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new AppError(
      'MIGRATION_FAILED',
      `Granting the API, Debezium and Flink roles their privileges failed (${(error as Error).message}). The DATABASE_URL user must own the tables (it runs the migrations).`,
    );
  } finally {
    await client.end();
  }
}

/**
 * Creates the CDC publication as the owner (Debezium's role may not: it owns no table), or makes an existing
 * one publish exactly `tables`, and lets `cdcUser` read those tables; the connector then uses
 * `publication.autocreate.mode=disabled`.
 */
export async function ensurePublication(
  ownerUrl: string,
  name: string,
  tables: readonly string[],
  cdcUser: string,
): Promise<'created' | 'updated' | 'unchanged'> {
  const qualified = tables.map((t) => {
    const [schema, table] = t.includes('.') ? t.split('.', 2) : ['public', t];
    return { schema: schema!, table: table!, sql: `${ident(schema!)}.${ident(table!)}` };
  });
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    // The snapshot reads the tables: Debezium's role may SELECT them (and nothing else).
    if (cdcUser !== connectionFields(ownerUrl).user) {
      for (const schema of new Set(qualified.map((q) => q.schema))) await client.query(`GRANT USAGE ON SCHEMA ${ident(schema)} TO ${ident(cdcUser)}`);
      await client.query(`GRANT SELECT ON ${qualified.map((q) => q.sql).join(', ')} TO ${ident(cdcUser)}`);
    }
    const found = await client.query<{ schemaname: string; tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [
      name,
    ]);
    const exists = (await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name])).rowCount! > 0;
    if (!exists) {
      await client.query(`CREATE PUBLICATION ${ident(name)} FOR TABLE ${qualified.map((q) => q.sql).join(', ')}`);
      return 'created';
    }
    const have = new Set(found.rows.map((r) => `${r.schemaname}.${r.tablename}`));
    const want = new Set(qualified.map((q) => `${q.schema}.${q.table}`));
    if (have.size === want.size && [...want].every((w) => have.has(w))) return 'unchanged';
    await client.query(`ALTER PUBLICATION ${ident(name)} SET TABLE ${qualified.map((q) => q.sql).join(', ')}`);
    return 'updated';
  } catch (error) {
    throw new AppError(
      'CONNECT_FAILED',
      `Creating the CDC publication ${name} as ${connectionFields(ownerUrl).user} failed (${(error as Error).message}). The DATABASE_URL user must own the captured tables and the publication (ALTER PUBLICATION ${name} OWNER TO <that user>), or create it yourself: CREATE PUBLICATION ${name} FOR TABLE ${tables.join(', ')}.`,
    );
  } finally {
    await client.end();
  }
}
