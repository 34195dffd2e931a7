import type pg from 'pg';
import { countRows } from '../database/counts.js';
import type { Db } from '../database/database.js';
import { AppError } from '../errors.js';
import type { Experiments } from '../experiments/experiments.js';
import type { Logger } from '../logging/logger.js';
import type { Recommender } from '../recommend/serving.js';
import type { Storefront } from '../shop/storefront.js';
import { runHistorical } from './historical.js';
import { runLive } from './live.js';
import { SIMULATED_RECOMMENDERS, SIMULATION_DEFAULTS, SIMULATION_LIMITS, type SimulatedRecommender } from './options.js';
import { createListSource } from './recommendations.js';

import type { RecommendationUptake, RunStats } from './stats.js';
import { loadWorld } from './world.js';

export interface SimulationParams {
  sessions: number;
  durationMinutes: number;
  speed: number;
  concurrency: number;
  seed?: number;
  historicalDays?: number;
  sessionsPerDay: number;
  until?: Date;
  /** Recommendations shown at the start of each live session (0 = none); default 6. Not used by back-fills. */
  recommendations?: number;
  /** What shows them: ours (default) or the random baseline. */
  recommender?: SimulatedRecommender;
}

export const COUNTED_TABLES = [
  'categories',
  'products',
  'customers',
  'orders',
  'order_items',
  'carts',
  'wishlists',
  'payments',
  'shipments',
  'behavior_events',
] as const;

/** Checks every parameter and names the one that is wrong and its allowed range. */
export function validateSimulationParams(p: SimulationParams): void {
  const check = (name: string, value: number | undefined, min: number, max: number, integer = true) => {
    if (value === undefined) return;
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      throw new AppError('BAD_USER_INPUT', `${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${value}.`, { field: name });
    }
  };
  check('sessions', p.sessions, 1, SIMULATION_LIMITS.sessions);
  check('durationMinutes', p.durationMinutes, 0, SIMULATION_LIMITS.durationMinutes, false);
  check('speed', p.speed, 0.01, SIMULATION_LIMITS.speed, false);
  check('concurrency', p.concurrency, 1, SIMULATION_LIMITS.concurrency);
  check('historicalDays', p.historicalDays, 1, SIMULATION_LIMITS.historicalDays);
  check('sessionsPerDay', p.sessionsPerDay, 1, SIMULATION_LIMITS.sessionsPerDay);
  check('seed', p.seed, 0, 2 ** 31);
  check('recommendations', p.recommendations, 0, SIMULATION_LIMITS.recommendations);
  if (p.recommender !== undefined && !SIMULATED_RECOMMENDERS.includes(p.recommender)) {
    throw new AppError('BAD_USER_INPUT', `recommender must be one of ${SIMULATED_RECOMMENDERS.join(', ')}, got "${p.recommender}".`, { field: 'recommender' });
  }
  if (p.until && Number.isNaN(p.until.getTime()))
    throw new AppError('BAD_USER_INPUT', 'until must be an ISO date-time such as 2026-01-31T00:00:00Z.', { field: 'until' });
}

export interface SimulationSummary {
  runId: string;
  mode: 'live' | 'historical';
  sessions: number;
  rowsByTable: Record<string, number>;
  eventsByType: Record<string, number>;
  attemptedByType: Record<string, number>;
  skipped: Record<string, number>;
  ordersPaid: number;
  ordersFailed: number;
  /** Customers who signed up, changed their phone number or their address during the run. */
  accountChanges: Record<string, number>;
  /** Uptake of the recommendations shown (live runs that showed any; absent otherwise). */
  recommendations?: RecommendationUptake & { perSession: number; emptyLists: number };
  elapsedMs: number;
  rowsPerSecond: number;
}

export interface SimulationDeps {
  db: Db;
  pool: pg.Pool;
  storefront: Storefront;
  logger: Logger;
  /** The served recommender (from the composition root), shown by `recommender: 'ours'` runs. */
  recommender: Recommender;
  /** The experiments (from the composition root), whose running variants `recommender: 'experiment'` runs show. */
  experiments?: Experiments;
}

export interface StartedSimulation {
  runId: string;
  done: Promise<SimulationSummary>;
  cancel(): void;
}

/**
 * Starts a simulation in the background and returns at once with its run id; progress and the final
 * status are kept in `simulation_runs` so any process (CLI, API) can follow it.
 */
export async function startSimulation(
  deps: SimulationDeps,
  params: SimulationParams,
  onProgress: (fraction: number, stats: RunStats) => void = () => undefined,
): Promise<StartedSimulation> {
  validateSimulationParams(params);
  const world = await loadWorld(deps.pool);
  const seed = params.seed ?? Math.floor(Math.random() * 2 ** 31);
  const historical = params.historicalDays !== undefined;
  const total = historical ? params.historicalDays! : params.sessions;
  const perSession = historical ? 0 : (params.recommendations ?? SIMULATION_DEFAULTS.recommendations);
  const recommender = params.recommender ?? SIMULATION_DEFAULTS.recommender;
  const recorded = historical ? params : { ...params, recommendations: perSession, recommender };
  const run = await deps.db.simulationRun.create({
    data: {
      mode: historical ? 'historical' : 'live',
      params: { ...recorded, seed, until: params.until?.toISOString() },
      sessionsTotal: historical ? 0 : total,
    },
  });
  const recommendations =
    perSession > 0
      ? {
          recommender,
          first: perSession,
          source: createListSource(recommender, { recommender: deps.recommender, world, experiments: deps.experiments }),
          runId: run.id,
        }
      : undefined;
  const controller = new AbortController();
  const before = await countRows(deps.pool, COUNTED_TABLES);
  const started = performance.now();
  let lastWrite = 0;
  const progress = (done: number, stats: RunStats) => {
    onProgress(done / total, stats);
    const now = Date.now();
    if (now - lastWrite < 1000 && done < total) return;
    lastWrite = now;
    void deps.db.simulationRun
      .update({ where: { id: run.id }, data: { progress: done / total, sessionsDone: stats.sessions, eventsWritten: stats.events } })
      .catch((error) => deps.logger.warn({ err: error, runId: run.id }, 'could not record simulation progress'));
  };
  const done = (async (): Promise<SimulationSummary> => {
    try {
      const stats = historical
        ? await runHistorical(
            { pool: deps.pool, world, signal: controller.signal, onDay: progress },
            { days: params.historicalDays!, sessionsPerDay: params.sessionsPerDay, seed, until: params.until },
          )
        : await runLive(
            { pool: deps.pool, storefront: deps.storefront, world, logger: deps.logger, signal: controller.signal, onSessionDone: progress, recommendations },
            { sessions: params.sessions, durationMinutes: params.durationMinutes, speed: params.speed, concurrency: params.concurrency, seed },
          );
      const after = await countRows(deps.pool, COUNTED_TABLES);
      const elapsedMs = performance.now() - started;
      const rowsByTable = Object.fromEntries(COUNTED_TABLES.map((t) => [t, after[t]! - before[t]!]));
      // Net new rows: a cart line rewritten or deleted is not throughput.
      const written = Object.values(rowsByTable).reduce((a, b) => a + Math.max(0, b), 0);
      const summary: SimulationSummary = {
        runId: run.id,
        mode: historical ? 'historical' : 'live',
        sessions: stats.sessions,
        rowsByTable,
        eventsByType: { ...stats.performed },
        attemptedByType: { ...stats.attempted },
        skipped: { ...stats.skipped },
        ordersPaid: stats.ordersPaid,
        ordersFailed: stats.ordersFailed,
        accountChanges: { ...stats.accountChanges },
        ...(recommendations && { recommendations: { ...stats.uptake(recommender), perSession, emptyLists: stats.emptyRecommendationLists } }),
        elapsedMs,
        rowsPerSecond: written / (elapsedMs / 1000),
      };
      await deps.db.simulationRun.update({
        where: { id: run.id },
        data: {
          status: controller.signal.aborted ? 'cancelled' : 'completed',
          progress: controller.signal.aborted ? undefined : 1,
          sessionsDone: stats.sessions,
          eventsWritten: stats.events,
          finishedAt: new Date(),
        },
      });
      return summary;
    } catch (error) {
      deps.logger.error({ err: error, runId: run.id }, 'simulation failed');
      await deps.db.simulationRun
        .update({
          where: { id: run.id },
          data: { status: 'failed', error: error instanceof AppError ? error.message : 'internal error (see server log)', finishedAt: new Date() },
        })
        .catch(() => undefined);
      throw error;
    }
  })();
  return { runId: run.id, done, cancel: () => controller.abort() };
}
