import type { Recommender, TrainData } from '../evaluation/recommender.js';
import type { UserHistory } from '../evaluation/split.js';
import { columnCounts, type InteractionMatrix, popularityOrder } from './matrix.js';

/**
 * Turning a model's scores into a served list: the top k item indexes, skipping what the protocol excludes.
 * Shared by every model so they rank, break ties and exclude in the same way.
 */

/**
 * What a list leaves out. `purchased`: the user's train purchases (the project's evaluation, whose held-out
 * sets exclude those too); `train-items`: everything the user interacted with in train (the reference
 * protocol of shared/datasets/README.md).
 */
export type Exclusion = 'purchased' | 'train-items';

/** Item indexes (of `m`) that a user's list must not contain. */
export function excludedItems(m: InteractionMatrix, history: UserHistory | undefined, exclusion: Exclusion): Set<number> {
  const out = new Set<number>();
  if (!history) return out;
  for (const [item, h] of history) {
    if (exclusion === 'purchased' && !h.purchased) continue;
    const i = m.itemIndex.get(item);
    if (i !== undefined) out.add(i);
  }
  return out;
}

/**
 * The `k` best indexes of a dense score vector, best first; ties go to the lower index (the lower item id,
 * as the indexes follow ascending ids), so lists are reproducible.
 */
export function topK(scores: ArrayLike<number>, k: number, skip: ReadonlySet<number>): number[] {
  const best: number[] = [];
  let floor = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (best.length === k && s <= floor) continue;
    if (skip.has(i)) continue;
    // Insertion into a short sorted list: k is 10–50, far cheaper than sorting the catalogue.
    let at = best.length;
    while (at > 0 && scores[best[at - 1]!]! < s) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
    if (best.length === k) floor = scores[best[k - 1]!]!;
  }
  return best;
}

/** How a model scores one user: a dense vector over the matrix's items (reused buffers are fine). */
export type UserScorer = (user: number) => ArrayLike<number>;

/**
 * A Recommender over a fitted model: unknown users get an empty list (no train history to score). Where the
 * model scores fewer than k items above 0 (a user whose items have no neighbours), the rest of the list is the
 * most popular items (by users in train), not the lowest ids: what nothing supports is ordered by popularity.
 */
export function scoringRecommender(name: string, train: TrainData, m: InteractionMatrix, score: UserScorer, exclusion: Exclusion = 'purchased'): Recommender {
  let popular: Int32Array | undefined;
  return {
    name,
    async recommend(customerId, k) {
      const u = m.userIndex.get(customerId);
      if (u === undefined) return [];
      const skip = excludedItems(m, train.users.get(customerId), exclusion);
      const scores = score(u);
      const list = topK(scores, k, skip).filter((i) => scores[i]! > 0);
      if (list.length < k) {
        popular ??= popularityOrder(columnCounts(m));
        const chosen = new Set(list);
        for (let q = 0; q < popular.length && list.length < k; q++) {
          const i = popular[q]!;
          if (!chosen.has(i) && !skip.has(i)) list.push(i);
        }
      }
      return list.map((i) => m.itemIds[i]!);
    },
  };
}

/** One entry of a serialisable neighbour table: `score` is what `neighbour` gains from a user having `item`. */
export interface NeighbourRow {
  item: number;
  neighbour: number;
  score: number;
}
