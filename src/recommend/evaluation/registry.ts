import { createItemKnn, mostPopular, randomItems } from './baselines.js';
import type { RecommenderEntry } from './recommender.js';

/**
 * The rows of the evaluation table, in order. `ours` is what the API serves (src/recommend/serving.ts);
 * until it has an entry in RECOMMENDERS, `rtrec evaluate` says so instead of printing a row for it.
 */
export const EVALUATION_ROWS = ['ours', 'most-popular', 'item-knn', 'random'] as const;

/**
 * Every recommender the evaluation can run. To evaluate the served recommender, add an entry named `ours`
 * with `sources: ['shop']` whose `create(deps)` returns a Recommender reading `deps.db` / `deps.pool` as of
 * the `asOf` it is given.
 */
export const RECOMMENDERS: readonly RecommenderEntry[] = [
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
