import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { type AppContext, createServices } from '../../src/app/context.js';
import { createRng } from '../../src/common/random.js';
import { loadConfig } from '../../src/config/env.js';
import { createPool, createPrisma, type Db } from '../../src/database/database.js';
import type { DbRole } from '../../src/database/roles.js';
import { createLogger } from '../../src/logging/logger.js';
import type { Recommender } from '../../src/recommend/serving.js';
import { createStorefront, type Storefront } from '../../src/shop/storefront.js';
import { createSimulatedGateway } from '../../src/simulator/behaviour.js';

export interface TestDatabase {
  name: string;
  url: string;
  db: Db;
  pool: pg.Pool;
  storefront: Storefront;
  logger: ReturnType<typeof createLogger>;
  /** The composition root's services on this database (default configuration). */
  services: AppContext;
  /** The served recommender, as the composition root configures it. */
  recommender: Recommender;
  drop(): Promise<void>;
}

/** A least-privilege role's connection string on a test database (`roleUrl('api', t.name)`). */
export function roleUrl(role: DbRole, database: string): string {
  return withDatabase(inject('pgRoleUrls')[role], database);
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh, migrated database on the run's real PostgreSQL (cloned from the template in ~100 ms); `url` is the superuser's. */
export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // Owned by the owner role, as `rtrec` creates its database (the public schema is the database owner's).
    const owner = new URL(inject('pgRoleUrls').owner).username;
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} OWNER ${pg.escapeIdentifier(owner)} TEMPLATE ${pg.escapeIdentifier(inject('pgTemplate'))}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const db = createPrisma(url, 5);
  const pool = createPool(url, 5);
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const storefront = createStorefront({ db, payments: createSimulatedGateway(createRng(42)) });
  const services = createServices({ config: loadConfig({ LOG_LEVEL: 'silent' }), logger, databaseUrl: url, db, pool, storefront });
  return {
    name,
    url,
    db,
    pool,
    storefront,
    logger,
    services,
    recommender: services.recommender,
    async drop() {
      await services.close();
      await Promise.allSettled([db.$disconnect(), pool.end()]);
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`).finally(() => c.end());
    },
  };
}
