import { createRng } from '../../common/random.js';
import type { Recommender, TrainData } from './recommender.js';
import type { UserHistory } from './split.js';

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

export interface ItemKnnOptions {
  /** Neighbours kept per item (the most similar ones); bounds memory on large catalogues. */
  neighbours?: number;
}

/** Sparse neighbour list of one item: parallel arrays of item indexes and cosine similarities. */
interface Neighbours {
  items: Int32Array;
  sims: Float64Array;
}

/**
 * Item-item collaborative filtering. Similarity is the cosine between two items' columns of the train
 * user×item matrix (entries = interaction weight sums); a customer's score for an item is the sum of its
 * similarities to the customer's train items. Neighbour lists are computed on first use and cached.
 */
export function createItemKnn(train: TrainData, options: ItemKnnOptions = {}): { similarity(a: number, b: number): number; recommender: Recommender } {
  const maxNeighbours = options.neighbours ?? 100;
  const itemIds: number[] = [];
  const indexOf = new Map<number, number>();
  const rows: { items: Int32Array; values: Float64Array }[] = [];
  const userIndex = new Map<number, number>();
  for (const [user, history] of train.users) {
    const items = new Int32Array(history.size);
    const values = new Float64Array(history.size);
    let n = 0;
    for (const [item, h] of history) {
      let idx = indexOf.get(item);
      if (idx === undefined) {
        idx = itemIds.length;
        indexOf.set(item, idx);
        itemIds.push(item);
      }
      items[n] = idx;
      values[n++] = h.weight;
    }
    userIndex.set(user, rows.length);
    rows.push({ items, values });
  }
  // Columns (item → users) and norms, from the rows.
  const columnUsers: number[][] = itemIds.map(() => []);
  const columnValues: number[][] = itemIds.map(() => []);
  const norms = new Float64Array(itemIds.length);
  rows.forEach((row, u) => {
    for (let n = 0; n < row.items.length; n++) {
      const i = row.items[n]!;
      columnUsers[i]!.push(u);
      columnValues[i]!.push(row.values[n]!);
      norms[i]! += row.values[n]! ** 2;
    }
  });
  for (let i = 0; i < norms.length; i++) norms[i] = Math.sqrt(norms[i]!);

  const cache = new Map<number, Neighbours>();
  const dot = new Float64Array(itemIds.length);
  const touched: number[] = [];

  function neighboursOf(j: number): Neighbours {
    const cached = cache.get(j);
    if (cached) return cached;
    const users = columnUsers[j]!;
    const vj = columnValues[j]!;
    for (let a = 0; a < users.length; a++) {
      const row = rows[users[a]!]!;
      for (let n = 0; n < row.items.length; n++) {
        const i = row.items[n]!;
        if (i === j) continue;
        if (dot[i] === 0) touched.push(i);
        dot[i]! += vj[a]! * row.values[n]!;
      }
    }
    const scored = touched.map((i) => ({ i, sim: dot[i]! / (norms[i]! * norms[j]!) }));
    for (const i of touched) dot[i] = 0;
    touched.length = 0;
    scored.sort((a, b) => b.sim - a.sim || itemIds[a.i]! - itemIds[b.i]!);
    const kept = scored.slice(0, maxNeighbours);
    const result = { items: Int32Array.from(kept, (s) => s.i), sims: Float64Array.from(kept, (s) => s.sim) };
    cache.set(j, result);
    return result;
  }

  return {
    /** Cosine similarity of two items (0 when either is unknown or outside the other's kept neighbours). */
    similarity(a: number, b: number): number {
      const ia = indexOf.get(a);
      const ib = indexOf.get(b);
      if (ia === undefined || ib === undefined) return 0;
      const nb = neighboursOf(ia);
      const at = nb.items.indexOf(ib);
      return at < 0 ? 0 : nb.sims[at]!;
    },
    recommender: {
      name: 'item-knn',
      async recommend(customerId: number, k: number) {
        const u = userIndex.get(customerId);
        if (u === undefined) return [];
        const history = train.users.get(customerId)!;
        const bought = purchasedBy(history);
        const scores = new Map<number, number>();
        const row = rows[u]!;
        for (let n = 0; n < row.items.length; n++) {
          const nb = neighboursOf(row.items[n]!);
          for (let m = 0; m < nb.items.length; m++) {
            const i = nb.items[m]!;
            scores.set(i, (scores.get(i) ?? 0) + nb.sims[m]!);
          }
        }
        return [...scores]
          .filter(([i]) => !bought.has(itemIds[i]!))
          .sort((a, b) => b[1] - a[1] || itemIds[a[0]]! - itemIds[b[0]]!)
          .slice(0, k)
          .map(([i]) => itemIds[i]!);
      },
    },
  };
}
