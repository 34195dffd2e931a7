import { generateData } from '../../src/datagen/generate.js';
import { replaceFeaturesAsOf } from '../../src/recommend/features-sql.js';
import { startSimulation } from '../../src/simulator/runs.js';
import type { TestDatabase } from './db.js';

/**
 * A generated shop with a simulated history of `days` days up to now and, unless `features: false`, the
 * features Flink would hold for it in the live rec_* tables (computed by their SQL definitions): what serving
 * and training read, without Flink.
 */
export async function simulatedShop(
  t: TestDatabase,
  shop: { categories: number; products: number; customers: number; seed: number },
  history: { sessionsPerDay: number; days: number; seed: number; features?: boolean },
): Promise<Date> {
  await generateData(t.pool, shop);
  const now = new Date();
  await (
    await startSimulation(
      { db: t.db, pool: t.pool, storefront: t.storefront, logger: t.logger, recommender: t.recommender },
      {
        sessions: 1,
        durationMinutes: 1,
        speed: 1,
        concurrency: 1,
        sessionsPerDay: history.sessionsPerDay,
        historicalDays: history.days,
        seed: history.seed,
        until: now,
      },
    )
  ).done;
  if (history.features !== false) await replaceFeaturesAsOf(t.pool, now);
  return now;
}
