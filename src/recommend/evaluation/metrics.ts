/**
 * Top-k ranking metrics with binary relevance: an item is relevant to a user when it is in that user's
 * held-out set. Every function is pure, so the numbers can be checked by hand on tiny cases.
 */

/** One evaluated user: the ranked list a recommender returned (best first) and the held-out items. */
export interface RankedCase {
  recommended: readonly number[];
  heldOut: ReadonlySet<number>;
}

const mean = (values: number[]): number => (values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length);

function hitsInTop(c: RankedCase, k: number): number {
  let hits = 0;
  for (const item of c.recommended.slice(0, k)) if (c.heldOut.has(item)) hits++;
  return hits;
}

/** Share of users with at least one held-out item in their top k. */
export function hitRate(cases: readonly RankedCase[], k: number): number {
  return mean(cases.map((c) => (hitsInTop(c, k) > 0 ? 1 : 0)));
}

/**
 * NDCG@k, binary relevance: DCG = Σ rel_r / log2(r + 1) over ranks r = 1..k, divided by the DCG of an ideal
 * list that puts min(k, |held-out|) relevant items first; averaged over users.
 */
export function ndcg(cases: readonly RankedCase[], k: number): number {
  return mean(
    cases.map((c) => {
      let dcg = 0;
      c.recommended.slice(0, k).forEach((item, i) => {
        if (c.heldOut.has(item)) dcg += 1 / Math.log2(i + 2);
      });
      let ideal = 0;
      for (let i = 0; i < Math.min(k, c.heldOut.size); i++) ideal += 1 / Math.log2(i + 2);
      return ideal === 0 ? 0 : dcg / ideal;
    }),
  );
}

/** |held-out items in the top k| / |held-out items|, averaged over users. */
export function recall(cases: readonly RankedCase[], k: number): number {
  return mean(cases.map((c) => (c.heldOut.size === 0 ? 0 : hitsInTop(c, k) / c.heldOut.size)));
}

/** Catalogue coverage: distinct items in all top-k lists / catalogue size. */
export function coverage(cases: readonly RankedCase[], k: number, catalogueSize: number): number {
  if (catalogueSize === 0) return 0;
  const seen = new Set<number>();
  for (const c of cases) for (const item of c.recommended.slice(0, k)) seen.add(item);
  return seen.size / catalogueSize;
}

/** The cut-offs of one evaluation table: HR and NDCG at `k`, recall at `recallK`, coverage of the top-`k` lists. */
export interface MetricCutoffs {
  k: number;
  recallK: number;
}

export interface MetricRow {
  hitRate: number;
  ndcg: number;
  recall: number;
  coverage: number;
}

/** All four metrics of one recommender on one set of cases. */
export function scoreCases(cases: readonly RankedCase[], cutoffs: MetricCutoffs, catalogueSize: number): MetricRow {
  return {
    hitRate: hitRate(cases, cutoffs.k),
    ndcg: ndcg(cases, cutoffs.k),
    recall: recall(cases, cutoffs.recallK),
    coverage: coverage(cases, cutoffs.k, catalogueSize),
  };
}
