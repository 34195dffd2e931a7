import type pg from 'pg';
import type { Config } from '../config/env.js';
import { createPool, createPrisma, type Db, ensureDatabaseUrl, migrate } from '../database/database.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { createSimulatedGateway } from '../shop/policy.js';
import { createStorefront, type Storefront } from '../shop/storefront.js';
import { createRng } from '../common/random.js';

/** Everything a command or the server needs, built once from validated configuration. */
export interface AppContext {
  config: Config;
  logger: Logger;
  databaseUrl: string;
  db: Db;
  pool: pg.Pool;
  storefront: Storefront;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Apply committed migrations first (idempotent). */
  migrate?: boolean;
  logger?: Logger;
}

/** The composition root: starts (or reaches) the database and wires the domain on top of it. */
export async function createAppContext(config: Config, options: ContextOptions = {}): Promise<AppContext> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const databaseUrl = await ensureDatabaseUrl(config);
  if (options.migrate ?? true) await migrate(databaseUrl);
  const db = createPrisma(databaseUrl);
  const pool = createPool(databaseUrl, 10, (error) => logger.warn({ err: error }, 'idle database connection failed'));
  const storefront = createStorefront({ db, payments: createSimulatedGateway(createRng(Date.now() % 2 ** 31)) });
  return {
    config, logger, databaseUrl, db, pool, storefront,
    async close() {
      await Promise.allSettled([db.$disconnect(), pool.end()]);
    },
  };
}
