import type { Recommender, TrainData } from '../evaluation/recommender.js';
import type { InteractionMatrix } from './matrix.js';
import { type Exclusion, scoringRecommender, type UserScorer } from './rank.js';

/**
 * A hybrid scorer: a weighted sum of signals that a SQL query over the features Flink maintains can
 * compute too (item popularity, the customer's category shares, neighbour-table sums), each scaled to
 * [0, 1] so the weights mean the same on any log:
 *
 *   score(u, j) = wPop · pop(j) / max pop
 *               + wCategory · share_u(cat j) · pop(j) / max pop in cat j
 *               + wCf · cf(u, j) / max_j cf(u, j)
 *
 * share_u(c) is the share of u's train interactions (by matrix value) in category c. pop is whatever
 * popularity the caller passes (e.g. recency-weighted counts), else the matrix's column sums.
 */
export interface HybridWeights {
  popularity: number;
  category: number;
  cf: number;
}

/**
 * Measured on both logs (bench/RESULTS.md, "Recommendation models on real logs"): recency-weighted popularity plus a quarter of the category
 * signal wins or ties everywhere; a CF term gained nothing on the grocery log and only noise-level hits on
 * the Taobao session protocol, so it is off by default.
 */
export const HYBRID_DEFAULTS: HybridWeights = { popularity: 1, category: 0.25, cf: 0 };

export interface HybridInputs {
  matrix: InteractionMatrix;
  /** Item id → category id; items without one get no category signal. */
  categories?: ReadonlyMap<number, number>;
  /** Item id → popularity; defaults to the matrix's column sums. */
  popularity?: ReadonlyMap<number, number>;
  /** A fitted CF model's scorer over the same matrix (item-kNN, EASE, iALS). */
  cf?: UserScorer;
}

/** Builds the hybrid's per-user dense scorer. */
export function hybridScorer(inputs: HybridInputs, weights: HybridWeights = HYBRID_DEFAULTS): UserScorer {
  const m = inputs.matrix;
  const n = m.itemIds.length;
  const pop = new Float64Array(n);
  if (inputs.popularity) {
    for (const [i, id] of m.itemIds.entries()) pop[i] = inputs.popularity.get(id) ?? 0;
  } else {
    for (let i = 0; i < n; i++) for (let p = m.csc.indptr[i]!; p < m.csc.indptr[i + 1]!; p++) pop[i]! += m.csc.data[p]!;
  }
  let maxPop = 0;
  for (const v of pop) maxPop = Math.max(maxPop, v);
  const popN = pop.map((v) => (maxPop > 0 ? v / maxPop : 0));

  // Category of each item index (-1: none) and popularity scaled within its category.
  const category = new Int32Array(n).fill(-1);
  const catIds = new Map<number, number>();
  if (inputs.categories) {
    m.itemIds.forEach((id, i) => {
      const c = inputs.categories!.get(id);
      if (c === undefined) return;
      if (!catIds.has(c)) catIds.set(c, catIds.size);
      category[i] = catIds.get(c)!;
    });
  }
  const catMax = new Float64Array(catIds.size);
  for (let i = 0; i < n; i++) if (category[i]! >= 0) catMax[category[i]!] = Math.max(catMax[category[i]!]!, pop[i]!);
  const popInCat = pop.map((v, i) => (category[i]! >= 0 && catMax[category[i]!]! > 0 ? v / catMax[category[i]!]! : 0));

  const scores = new Float64Array(n);
  const share = new Float64Array(catIds.size);
  return (u) => {
    for (let i = 0; i < n; i++) scores[i] = weights.popularity * popN[i]!;
    if (weights.category !== 0 && catIds.size > 0) {
      share.fill(0);
      let total = 0;
      for (let q = m.csr.indptr[u]!; q < m.csr.indptr[u + 1]!; q++) {
        const c = category[m.csr.indices[q]!]!;
        if (c < 0) continue;
        share[c]! += m.csr.data[q]!;
        total += m.csr.data[q]!;
      }
      if (total > 0) for (let i = 0; i < n; i++) if (category[i]! >= 0) scores[i]! += ((weights.category * share[category[i]!]!) / total) * popInCat[i]!;
    }
    if (weights.cf !== 0 && inputs.cf) {
      const cf = inputs.cf(u);
      let max = 0;
      for (let i = 0; i < n; i++) max = Math.max(max, cf[i]!);
      if (max > 0) for (let i = 0; i < n; i++) if (cf[i]! > 0) scores[i]! += (weights.cf * cf[i]!) / max;
    }
    return scores;
  };
}

/** The hybrid as a Recommender over the train data its matrix was built from. */
export function hybridRecommender(
  inputs: HybridInputs,
  train: TrainData,
  weights: HybridWeights = HYBRID_DEFAULTS,
  exclusion: Exclusion = 'purchased',
  name = 'hybrid',
): Recommender {
  return scoringRecommender(name, train, inputs.matrix, hybridScorer(inputs, weights), exclusion);
}
