import type { Recommender, TrainData } from '../evaluation/recommender.js';
import { ITEM_KNN_DEFAULTS } from './defaults.js';
import type { InteractionMatrix } from './matrix.js';
import { type Exclusion, type NeighbourRow, scoringRecommender } from './rank.js';

export interface ItemKnnOptions {
  /** Neighbours kept per item (the most similar ones); bounds memory and serving reads. */
  neighbours?: number;
  /**
   * Shrinkage: sim = dot / (‖a‖‖b‖ + shrink). Pulls the similarity of items seen by few users towards 0, so
   * two items bought once by the same household do not look like perfect twins.
   */
  shrink?: number;
}

/** A fitted item-kNN: each item's neighbours, best first, as a compressed item → neighbour table. */
export interface ItemKnnModel {
  matrix: InteractionMatrix;
  options: Required<ItemKnnOptions>;
  indptr: Int32Array;
  neighbours: Int32Array;
  sims: Float64Array;
}

/** Computes every item's top neighbours by shrunk cosine between the item columns of `m`. */
export function fitItemKnn(m: InteractionMatrix, options: ItemKnnOptions = {}): ItemKnnModel {
  const opts = { ...ITEM_KNN_DEFAULTS, ...options };
  const n = m.itemIds.length;
  const { csr, csc } = m;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let p = csc.indptr[i]!; p < csc.indptr[i + 1]!; p++) s += csc.data[p]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  const dot = new Float64Array(n);
  const touched: number[] = [];
  const lists: { items: Int32Array; sims: Float64Array }[] = [];
  let total = 0;
  for (let j = 0; j < n; j++) {
    // Sparse dot products of column j with every column sharing a user: walk j's users' rows.
    for (let p = csc.indptr[j]!; p < csc.indptr[j + 1]!; p++) {
      const u = csc.indices[p]!;
      const vj = csc.data[p]!;
      for (let q = csr.indptr[u]!; q < csr.indptr[u + 1]!; q++) {
        const i = csr.indices[q]!;
        if (i === j) continue;
        if (dot[i] === 0) touched.push(i);
        dot[i]! += vj * csr.data[q]!;
      }
    }
    const scored = touched.map((i) => ({ i, sim: dot[i]! / (norms[i]! * norms[j]! + opts.shrink) }));
    for (const i of touched) dot[i] = 0;
    touched.length = 0;
    scored.sort((a, b) => b.sim - a.sim || a.i - b.i);
    const kept = scored.length > opts.neighbours ? scored.slice(0, opts.neighbours) : scored;
    lists.push({ items: Int32Array.from(kept, (s) => s.i), sims: Float64Array.from(kept, (s) => s.sim) });
    total += kept.length;
  }
  const indptr = new Int32Array(n + 1);
  const neighbours = new Int32Array(total);
  const sims = new Float64Array(total);
  lists.forEach((l, j) => {
    neighbours.set(l.items, indptr[j]!);
    sims.set(l.sims, indptr[j]!);
    indptr[j + 1] = indptr[j]! + l.items.length;
  });
  return { matrix: m, options: opts, indptr, neighbours, sims };
}

/** Similarity of two item indexes (0 when `b` is not among `a`'s kept neighbours). */
export function knnSimilarity(model: ItemKnnModel, a: number, b: number): number {
  for (let p = model.indptr[a]!; p < model.indptr[a + 1]!; p++) if (model.neighbours[p] === b) return model.sims[p]!;
  return 0;
}

/** A user's score for every item: Σ over the user's items i of value(u, i) · sim(i, item). */
export function knnScorer(model: ItemKnnModel): (u: number) => Float64Array {
  const { csr } = model.matrix;
  const scores = new Float64Array(model.matrix.itemIds.length);
  return (u) => {
    scores.fill(0);
    for (let q = csr.indptr[u]!; q < csr.indptr[u + 1]!; q++) {
      const i = csr.indices[q]!;
      const v = csr.data[q]!;
      for (let p = model.indptr[i]!; p < model.indptr[i + 1]!; p++) scores[model.neighbours[p]!]! += v * model.sims[p]!;
    }
    return scores;
  };
}

/** The model as a Recommender over the train data it was fitted on. */
export function itemKnnRecommender(model: ItemKnnModel, train: TrainData, exclusion: Exclusion = 'purchased', name = 'item-knn'): Recommender {
  return scoringRecommender(name, train, model.matrix, knnScorer(model), exclusion);
}

/** The serving table: each item's top `n` neighbours with their similarity, by item id. */
export function knnNeighbours(model: ItemKnnModel, n: number): NeighbourRow[] {
  const rows: NeighbourRow[] = [];
  const ids = model.matrix.itemIds;
  for (let i = 0; i < ids.length; i++) {
    const end = Math.min(model.indptr[i + 1]!, model.indptr[i]! + n);
    for (let p = model.indptr[i]!; p < end; p++) rows.push({ item: ids[i]!, neighbour: ids[model.neighbours[p]!]!, score: model.sims[p]! });
  }
  return rows;
}
