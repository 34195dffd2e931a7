import pg from 'pg';
import { AppError } from '../../errors.js';
import { buildFeaturesAsOf } from '../features-sql.js';
import { createItemKnn, mostPopular, randomItems } from './baselines.js';
import type { Recommender, RecommenderDeps, RecommenderEntry } from './recommender.js';

/** Schema that holds the features as of the evaluation's cutoff (rebuilt by every run). */
export const EVALUATION_SCHEMA = 'rtrec_eval';

/**
 * `ours`: the served query (src/recommend/serving.ts) on the features Flink would have maintained at the
 * cutoff — rebuilt in SQL from the history before it (features-sql.ts) and put first on the search path of
 * a connection pool of its own. Time split only: leave-last-out has one cutoff per user.
 */
async function createOurs(deps: RecommenderDeps): Promise<Recommender & { close(): Promise<void> }> {
  let asOf: Date | undefined;
  let ready: Promise<pg.Pool> | undefined;
  const base = deps.pool.options as pg.PoolConfig;
  return {
    name: 'ours',
    async recommend(customerId, k, at) {
      asOf ??= at;
      if (asOf.getTime() !== at.getTime()) throw new AppError('BAD_USER_INPUT', '`ours` is evaluated on the time split (one cutoff for everyone); use --split time.');
      // The first call builds the features; concurrent calls wait for the same build.
      ready ??= buildFeaturesAsOf(deps.pool, EVALUATION_SCHEMA, at).then(() => new pg.Pool({ ...base, max: 8, options: `-c search_path=${EVALUATION_SCHEMA},public` }));
      const pool = await ready;
      return (await deps.servedOn(pool).recommend(customerId, { first: k, asOf: at })).map((r) => r.productId);
    },
    async close() {
      if (ready) await (await ready).end();
    },
  };
}

/**
 * The rows of the evaluation table, in order. `ours` is what the API serves (src/recommend/serving.ts);
 * until it has an entry in RECOMMENDERS, `rtrec evaluate` says so instead of printing a row for it.
 */
export const EVALUATION_ROWS = ['ours', 'most-popular', 'item-knn', 'random'] as const;

/**
 * Every recommender of the platform the evaluation can run; `ours` is the served one (deps.servedOn, from the
 * composition root). Reference rows that belong elsewhere (the simulator's oracle) are added by the caller.
 */
export const RECOMMENDERS: readonly RecommenderEntry[] = [
  {
    name: 'ours',
    description: 'what the API serves: similar items, revisits, category affinity and trends, on the features as of the cutoff',
    sources: ['shop'],
    splits: ['time'],
    create: (deps) => createOurs(deps),
  },
  {
    name: 'most-popular',
    description: 'the items with the highest total interaction weight in the train period, the same for everyone',
    sources: ['shop', 'imported'],
    create: ({ train }) => mostPopular(train),
  },
  {
    name: 'item-knn',
    description: "item-item cosine similarity on the train user×item matrix, summed over the customer's train items",
    sources: ['shop', 'imported'],
    create: ({ train }) => createItemKnn(train).recommender,
  },
  {
    name: 'random',
    description: 'uniformly random catalogue items (seeded)',
    sources: ['shop', 'imported'],
    create: ({ train, seed }) => randomItems(train, seed),
  },
];
