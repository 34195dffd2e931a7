import type pg from 'pg';
import { buildFeaturesAsOf, poolOnSchema } from '../features-sql.js';
import { easeRecommender, trainEase } from '../models/ease.js';
import { fitIals, ialsRecommender } from '../models/ials.js';
import { buildInteractionMatrix } from '../models/matrix.js';
import { trainNeighbours } from '../neighbours.js';
import type { RankerWeights } from '../ranker.js';
import { trainRanker, validationProtocol } from '../train.js';
import { createItemKnn, mostPopular, randomItems } from './baselines.js';
import type { Recommender, RecommenderDeps, RecommenderEntry } from './recommender.js';

/** Schema that holds the features as of the evaluation's cutoff (rebuilt by every run). */
export const EVALUATION_SCHEMA = 'rtrec_eval';

/** Validation customers `ours` fits its ranker on (train part of the split). */
const FIT_CUSTOMERS = 3000;

/**
 * `ours`: the served query (src/recommend/serving.ts) on the features Flink would have maintained at the
 * cutoff — rebuilt in SQL from the history before it (features-sql.ts) and put first on the search path of
 * a connection pool of its own — with its ranker's weights fitted the way `rtrec train` fits them, on a
 * validation split of the train part only (train.ts). Leave-last-out: each tested customer's own rows count
 * before their own moment, everyone else's up to the end of the history (the split's train part), built once.
 */
async function createOurs(deps: RecommenderDeps): Promise<Recommender & { close(): Promise<void> }> {
  let ready: Promise<{ pool: pg.Pool; ranker: RankerWeights }> | undefined;
  const perUser = new Set(deps.tests.map((t) => t.asOf.getTime())).size > 1;
  const cutoffs = perUser ? new Map(deps.tests.map((t) => [t.user, t.asOf])) : undefined;
  const end = perUser ? new Date(Math.max(...deps.tests.map((t) => t.asOf.getTime())) + 1) : undefined;
  const prepare = async (asOf: Date) => {
    const fit = await trainRanker(deps.pool, {
      asOf,
      bounds: cutoffs,
      maxCustomers: FIT_CUSTOMERS,
      // The same protocol as the split being evaluated, on its train part.
      protocol: validationProtocol(deps.split.kind, deps.split.kind === 'session' ? deps.split.gapMinutes : undefined),
      recommenderOn: deps.servedOn,
      schema: `${EVALUATION_SCHEMA}_fit`,
      neighbours: { easeBackend: deps.models.ease?.backend },
      onProgress: deps.onFitProgress,
    });
    deps.onFit?.(fit);
    await buildFeaturesAsOf(deps.pool, EVALUATION_SCHEMA, asOf, { cutoffs });
    await trainNeighbours(deps.pool, EVALUATION_SCHEMA, { easeBackend: deps.models.ease?.backend });
    return { pool: poolOnSchema(deps.pool, EVALUATION_SCHEMA, 8), ranker: fit.ranker };
  };
  return {
    name: 'ours',
    async recommend(customerId, k, at) {
      // The first call fits and builds the features; concurrent calls wait for the same build.
      ready ??= prepare(end ?? at);
      const { pool, ranker } = await ready;
      return (await deps.servedOn(pool).recommend(customerId, { first: k, asOf: at, ranker })).map((r) => r.productId);
    },
    async close() {
      if (ready) await (await ready).pool.end();
    },
  };
}

/**
 * The rows of the evaluation table, in order. `ours` is what the API serves (src/recommend/serving.ts);
 * until it has an entry in RECOMMENDERS, `rtrec evaluate` says so instead of printing a row for it.
 */
export const EVALUATION_ROWS = ['ours', 'most-popular', 'item-knn', 'ease', 'ials', 'random'] as const;

/**
 * Every recommender of the platform the evaluation can run; `ours` is the served one (deps.servedOn, from the
 * composition root). Reference rows that belong elsewhere (the simulator's oracle) are added by the caller.
 */
export const RECOMMENDERS: readonly RecommenderEntry[] = [
  {
    name: 'ours',
    description:
      'what the API serves: similar items, revisits, category affinity, trends and recent popularity, on the features as of the cutoff, weights fitted on the train part',
    sources: ['shop'],
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
    description:
      "item-item cosine with shrinkage on the binary train user×item matrix (--knn-shrink, --knn-neighbours), summed over the customer's train items",
    sources: ['shop', 'imported'],
    create: ({ train, models }) => createItemKnn(train, { ...models.knn, values: 'binary' }).recommender,
  },
  {
    name: 'ease',
    description:
      'EASE (Steck 2019): closed-form item-item weights on the binary train matrix, over the most popular --ease-items items, λ = --ease-lambda, inverse on --ease-backend',
    sources: ['shop', 'imported'],
    create: async ({ train, models }) => easeRecommender(await trainEase(buildInteractionMatrix(train), models.ease), train),
  },
  {
    name: 'ials',
    description: 'implicit ALS (Hu, Koren, Volinsky 2008) on the binary train matrix: --ials-factors, --ials-iterations, --ials-alpha, --ials-reg',
    sources: ['shop', 'imported'],
    create: ({ train, models }) => ialsRecommender(fitIals(buildInteractionMatrix(train), models.ials), train),
  },
  {
    name: 'random',
    description: 'uniformly random catalogue items (seeded)',
    sources: ['shop', 'imported'],
    create: ({ train, seed }) => randomItems(train, seed),
  },
];
