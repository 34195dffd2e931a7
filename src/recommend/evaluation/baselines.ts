import { createRng } from '../../common/random.js';
import { fitItemKnn, type ItemKnnOptions, itemKnnRecommender, knnSimilarity } from '../models/item-knn.js';
import { buildInteractionMatrix } from '../models/matrix.js';
import type { Recommender, TrainData } from './recommender.js';
import type { UserHistory } from './split.js';

export type { ItemKnnOptions };

/**
 * In-memory baselines fitted on the train part of a split. None of them returns an item the customer already
 * bought in train (the held-out sets exclude those too); viewed, wishlisted or carted items may come back.
 */

function purchasedBy(history: UserHistory | undefined): Set<number> {
  const bought = new Set<number>();
  if (history) for (const [item, h] of history) if (h.purchased) bought.add(item);
  return bought;
}

/** Items by total interaction weight in train, heaviest first (ties: lower id first). */
export function popularityRanking(train: TrainData): number[] {
  const totals = new Map<number, number>();
  for (const history of train.users.values()) for (const [item, h] of history) totals.set(item, (totals.get(item) ?? 0) + h.weight);
  return [...totals].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([item]) => item);
}

/** The same list for everyone: the most-interacted items of the train period. */
export function mostPopular(train: TrainData): Recommender {
  const ranking = popularityRanking(train);
  return {
    name: 'most-popular',
    async recommend(customerId, k) {
      const bought = purchasedBy(train.users.get(customerId));
      const out: number[] = [];
      for (const item of ranking) {
        if (out.length >= k) break;
        if (!bought.has(item)) out.push(item);
      }
      return out;
    },
  };
}

/** Uniformly random items of the catalogue, reproducible per seed and customer (independent of call order). */
export function randomItems(train: TrainData, seed: number): Recommender {
  const catalogue = train.catalogue;
  const inCatalogue = new Set(catalogue);
  return {
    name: 'random',
    async recommend(customerId, k) {
      const bought = purchasedBy(train.users.get(customerId));
      let available = catalogue.length;
      for (const item of bought) if (inCatalogue.has(item)) available--;
      const rng = createRng(seed).fork(customerId);
      // Rejection sampling: k is small next to a catalogue, so drawing until k distinct allowed items is cheap.
      const picked = new Set<number>();
      while (picked.size < Math.min(k, available)) {
        const item = catalogue[rng.int(0, catalogue.length - 1)]!;
        if (!bought.has(item)) picked.add(item);
      }
      return [...picked];
    },
  };
}

/**
 * Item-item collaborative filtering (src/recommend/models/item-knn.ts): similarity is the shrunk cosine
 * between two items' columns of the train user×item matrix (entries = interaction weight sums); a customer's
 * score for an item is the weight-scaled sum of its similarities to the customer's train items.
 */
export function createItemKnn(
  train: TrainData,
  options: ItemKnnOptions & { values?: 'binary' | 'weight' } = {},
): { similarity(a: number, b: number): number; recommender: Recommender } {
  const model = fitItemKnn(buildInteractionMatrix(train, { values: options.values ?? 'weight', precision: 64 }), options);
  const index = model.matrix.itemIndex;
  return {
    /** Similarity of two items (0 when either is unknown or outside the other's kept neighbours). */
    similarity(a: number, b: number): number {
      const ia = index.get(a);
      const ib = index.get(b);
      return ia === undefined || ib === undefined ? 0 : knnSimilarity(model, ia, ib);
    },
    recommender: itemKnnRecommender(model, train, 'purchased'),
  };
}
