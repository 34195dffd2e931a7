import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logging/logger.js';
import { projectRoot } from '../paths.js';
import { EmbeddedPostgres } from './embedded.js';
import { grantRolePrivileges } from './privileges.js';
import type { DatabaseUrls } from './roles.js';

export type Db = PrismaClient;

/** Where the database comes from: DATABASE_URL when set, otherwise the embedded server in the data folder. */
export interface DatabaseLocation {
  external: boolean;
  embedded?: EmbeddedPostgres;
}

export function locateDatabase(config: Config, logger?: Logger): DatabaseLocation {
  if (config.databaseUrl) return { external: true };
  return { external: false, embedded: new EmbeddedPostgres({ dataDir: config.dataDir, ...config.embeddedPg, logger }) };
}

/**
 * Each component's connection string, starting the embedded server first when it is the one in use (which
 * creates its roles when missing). With an external server: DATABASE_URL for the owner, DATABASE_API_URL,
 * DATABASE_CDC_URL and DATABASE_FLINK_URL for the others; one that is unset falls back to DATABASE_URL.
 */
export async function ensureDatabaseUrls(config: Config, logger?: Logger): Promise<DatabaseUrls> {
  const location = locateDatabase(config, logger);
  if (location.embedded) {
    await location.embedded.start();
    return location.embedded.urls();
  }
  const owner = config.databaseUrl!;
  const roles = config.databaseRoleUrls;
  return { owner, api: roles.api ?? owner, cdc: roles.cdc ?? owner, flink: roles.flink ?? owner };
}

/** The owner's connection string (DDL allowed): for benches and scripts that build their own tables. */
export async function ensureDatabaseUrl(config: Config): Promise<string> {
  return (await ensureDatabaseUrls(config)).owner;
}

const ROLE_VARIABLES = { api: 'DATABASE_API_URL (the API)', cdc: 'DATABASE_CDC_URL (Debezium)', flink: 'DATABASE_FLINK_URL (Flink)' } as const;

/**
 * The database made ready for every component: reachable, migrated by the owner (unless told not to), and each
 * role granted what it may do (idempotent, on every start, so new tables are covered). Warns when an external DATABASE_URL is
 * also used by the API, Debezium or Flink, which then run with the owner's privileges.
 */
export async function prepareDatabase(config: Config, logger: Logger, options: { migrate?: boolean } = {}): Promise<DatabaseUrls> {
  const urls = await ensureDatabaseUrls(config, logger);
  if (config.databaseUrl) {
    const shared = (['api', 'cdc', 'flink'] as const).filter((role) => !config.databaseRoleUrls[role]);
    if (shared.length)
      logger.warn(
        { roles: shared },
        `DATABASE_URL is also used by ${shared.map((r) => ROLE_VARIABLES[r]).join(', ')}: they connect with the owner's privileges. For least privilege create those roles and set the variables (README, "Database roles").`,
      );
  }
  if (options.migrate ?? true) await migrate(urls.owner);
  await grantRolePrivileges(urls, logger);
  return urls;
}

/** A Prisma client on the pure-JS query compiler and node-postgres (no native engine). */
export function createPrisma(url: string, poolSize = 10): PrismaClient {
  // Prisma's connections come from a pool of ours: the same error handling as every other pool (createPool), and
  // $disconnect() ends it.
  return new PrismaClient({ adapter: new PrismaPg(createPool(url, poolSize), { disposeExternalPool: true }) });
}

/**
 * A raw node-postgres pool for bulk paths (COPY-speed inserts) that Prisma does not serve well. An idle
 * connection the server closes (restart, DROP DATABASE ... FORCE) is reported, never an uncaught exception.
 */
export function createPool(url: string, max = 5, onError: (error: Error) => void = () => undefined): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  // pg-pool hands over an idle connection's error with the whole connection attached (`error.client`): logged as
  // is, that was kilobytes per line, the backend's cancel key included. The error alone says what happened.
  pool.on('error', (error: Error & { client?: unknown }) => {
    delete error.client;
    onError(error);
  });
  // pg-pool watches idle connections only. A checked-out one whose server dies (a transaction between two statements
  // when PostgreSQL is killed) emitted 'error' with no listener, which ended the process; and a holder that never
  // releases a dead connection kept its slot for good: Prisma's driver adapter did so for transactions cut by a
  // kill -9 of PostgreSQL, and after two kills every Prisma call waited forever for a connection (the soak). So a
  // connection that fails while checked out is released here, with its error (the pool drops it and the next
  // caller gets a fresh one); the holder's own release afterwards does nothing.
  const checkedOut = new Set<pg.PoolClient>();
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_error, client) => checkedOut.delete(client));
  pool.on('connect', (client) =>
    client.on('error', (error) => {
      onError(error);
      const holder = client as pg.PoolClient;
      if (!checkedOut.has(holder)) return;
      const release = holder.release;
      holder.release = () => undefined;
      release.call(holder, error);
    }),
  );
  return pool;
}

/**
 * The entity reader's pool (src/database/entity-reader.ts). Its sessions plan prepared statements generically
 * (`plan_cache_mode = force_generic_plan`): a read's statement keeps its page size a parameter, so PostgreSQL
 * would otherwise re-plan it on every execution (a `LIMIT $n` generic plan looks costlier than each custom
 * one), about 0.1 ms of the database's CPU per read of a 20-row list with its customers (bench/RESULTS.md).
 * Set per session on a connection's first query (not as a startup option, which poolers such as PgBouncer
 * refuse), and only here: the other pools' one-off statements are planned for their values. Its `query` takes a
 * query config (as the reader calls it).
 */
export function createReadPool(url: string, max = 10, onError: (error: Error) => void = () => undefined): pg.Pool {
  const pool = createPool(url, max, onError);
  const planned = new WeakSet<pg.PoolClient>();
  const query = async (config: pg.QueryConfig) => {
    const client = await pool.connect();
    let failure: Error | undefined;
    try {
      if (!planned.has(client)) {
        await client.query('SET plan_cache_mode = force_generic_plan');
        planned.add(client);
      }
      return await client.query(config);
    } catch (error) {
      failure = error as Error;
      throw error;
    } finally {
      // As pg-pool's own query: a connection that failed a query is not reused.
      client.release(failure);
    }
  };
  return Object.assign(pool, { query });
}

/** Checks that the server answers; throws DB_UNAVAILABLE with the fix when it does not. */
export async function checkConnection(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new AppError('DB_UNAVAILABLE', `Cannot reach the database (${(error as Error).message}). Check DATABASE_URL or run \`npx rtrec db start\`.`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const require = createRequire(import.meta.url);

/** Runs a Prisma CLI command against `url` (the wasm schema engine through prisma.config.ts). */
export async function runPrismaCli(args: string[], url: string): Promise<{ code: number; output: string }> {
  const cli = require.resolve('prisma/build/index.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Names of the committed migrations that the database has not applied yet. */
export async function pendingMigrations(url: string): Promise<string[]> {
  const committed = readdirSync(join(projectRoot, 'prisma', 'migrations'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const table = await client.query(`SELECT to_regclass('public._prisma_migrations') AS t`);
    if (!table.rows[0]?.t) return committed;
    const { rows } = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const applied = new Set(rows.map((r) => r.migration_name));
    return committed.filter((name) => !applied.has(name));
  } finally {
    await client.end();
  }
}

/**
 * Applies every committed migration through `prisma migrate deploy` (idempotent). Loading the schema
 * engine takes seconds, so it only runs when a migration is actually pending.
 */
export async function migrate(url: string): Promise<string> {
  const pending = await pendingMigrations(url);
  if (pending.length === 0) return 'No pending migrations to apply.';
  const { code, output } = await runPrismaCli(['migrate', 'deploy'], url);
  if (code !== 0) throw new AppError('MIGRATION_FAILED', `Applying migrations failed:\n${output.trim()}`);
  return output;
}
