import { hitRate, ndcg, type RankedCase } from './evaluation/metrics.js';
/*
 * The served ranker: every candidate product carries one raw value per signal (the features the serving query
 * computes from what Flink maintains), and its score is the weighted sum. The weights are not tuned for one
 * world: `rtrec train` fits them on the shop's own history (a leave-last-out validation split before the
 * training moment) by coordinate ascent on HR@10 + NDCG@10 of the exact lists serving would return, so a
 * grocery shop (staples, recency, categories) and a fashion shop (sessions, co-views) each get theirs.
 * Untrained, the defaults below are used (fitted on simulated shops, bench/RESULTS.md).
 */

/** The signals, in the order the serving query returns them (its `features` array, 1-based in SQL). */
export const RANKER_FEATURES = [
  /** Co-viewed with the customer's recent items: Σ cosine(n_view) × recency-weighted strength. */
  'similarView',
  /** Co-purchased with the customer's recent items: the same on orders. */
  'similarPurchase',
  /** The customer's own recent, unbought interests (strength × recency). */
  'revisit',
  /** Share of the customer's interest in the product's category × its popularity there (favourite categories). */
  'affinity',
  /** The hour's trend, scaled to its top product. */
  'trendHour',
  /** All-time popularity, scaled to the top product. */
  'popular',
  /** Recency-weighted popularity (forward decay, 30-day half-life), scaled to the top product. */
  'popularRecent',
  /** Learned item-kNN neighbours of the customer's recent items (rtrec train, rec_model_neighbours): Σ similarity. */
  'learned',
  /** Learned EASE item-item weights of the customer's recent items (rtrec train, the same table): Σ B_ij. */
  'learnedEase',
] as const;
export type RankerFeature = (typeof RANKER_FEATURES)[number];

export interface RankerWeights {
  weights: Record<RankerFeature, number>;
  /** Share of a list (0–1] one category may fill before other categories are preferred (diversity). */
  maxCategoryShare: number;
}

/** The weights serving uses until `rtrec train` has fitted some (the hand-tuned blend of earlier releases). */
export const DEFAULT_RANKER: RankerWeights = {
  weights: { similarView: 1, similarPurchase: 2, revisit: 2, affinity: 16, trendHour: 0.2, popular: 0.1, popularRecent: 0, learned: 0, learnedEase: 0 },
  maxCategoryShare: 0.7,
};

/** All-time popularity's least weight: it orders what no other signal scores (cold start, the list's tail). */
const POPULARITY_FLOOR = 1e-6;

/** A ranker whose weight for each signal is `weight(signal)`. */
export function rankerOf(weight: (feature: RankerFeature) => number, maxCategoryShare = 1): RankerWeights {
  return { weights: Object.fromEntries(RANKER_FEATURES.map((f) => [f, weight(f)])) as Record<RankerFeature, number>, maxCategoryShare };
}

/** The weights as the query's float8[] parameter (and the fit's scoring vector: the same floor). */
export function weightVector(ranker: RankerWeights): number[] {
  return RANKER_FEATURES.map((f) => (f === 'popular' ? Math.max(ranker.weights[f], POPULARITY_FLOOR) : ranker.weights[f]));
}

/** Checks weights read from the database or a file; a bad row is refused with what is wrong. */
export function parseRanker(value: unknown, where: string): RankerWeights {
  const v = value as { weights?: Record<string, unknown>; maxCategoryShare?: unknown } | null;
  if (!v || typeof v !== 'object' || !v.weights || typeof v.weights !== 'object')
    throw new Error(`${where}: expected { weights: {...}, maxCategoryShare }; run \`rtrec train\` again.`);
  const weights = {} as Record<RankerFeature, number>;
  for (const f of RANKER_FEATURES) {
    const w = v.weights[f] ?? 0;
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw new Error(`${where}: weight ${f} must be a number ≥ 0, got ${JSON.stringify(w)}.`);
    weights[f] = w;
  }
  const share = v.maxCategoryShare ?? DEFAULT_RANKER.maxCategoryShare;
  if (typeof share !== 'number' || !(share > 0 && share <= 1)) throw new Error(`${where}: maxCategoryShare must be in (0, 1], got ${JSON.stringify(share)}.`);
  return { weights, maxCategoryShare: share };
}

/** A candidate as serving computed it: raw signal values (RANKER_FEATURES order) and what excludes it. */
export interface Candidate {
  productId: number;
  categoryId: number;
  features: readonly number[];
  /** Bought before (dropped unless its category is repurchasable). */
  bought: boolean;
  inCart: boolean;
}

/**
 * Greedy diversity: walks the list by score and skips a product whose category already has `maxPerCategory`
 * entries, unless nothing else is left to fill the list.
 */
export function diversify<T extends { categoryId: number }>(ranked: readonly T[], first: number, maxPerCategory: number): T[] {
  const chosen: T[] = [];
  const skipped: T[] = [];
  const perCategory = new Map<number, number>();
  for (const item of ranked) {
    if (chosen.length === first) break;
    const n = perCategory.get(item.categoryId) ?? 0;
    if (n >= maxPerCategory) {
      skipped.push(item);
      continue;
    }
    perCategory.set(item.categoryId, n + 1);
    chosen.push(item);
  }
  for (const item of skipped) {
    if (chosen.length === first) break;
    chosen.push(item);
  }
  return chosen;
}

/** How many of a list of `first` one category may fill; the whole list when the caller asked for one category. */
export function perCategoryCap(first: number, maxCategoryShare: number, oneCategory: boolean): number {
  return oneCategory ? first : Math.max(2, Math.ceil(first * maxCategoryShare - 1e-9));
}

/**
 * The list serving returns from scored candidates (sorted best first): drops what is in the cart and what was
 * bought (unless repurchasable), then applies the category cap. Serving and training both rank through it.
 */
export function finalList<T extends { categoryId: number; inCart: boolean; bought: boolean; productId: number }>(
  sorted: readonly T[],
  first: number,
  options: { maxCategoryShare: number; oneCategory: boolean; repurchasable: (productId: number, categoryId: number) => boolean },
): T[] {
  const eligible = sorted.filter((c) => servable(c, options.repurchasable));
  return diversify(eligible, first, perCategoryCap(first, options.maxCategoryShare, options.oneCategory));
}

/** Whether a candidate may be listed: not in the cart, and not bought unless it may be bought again. */
function servable(
  c: { productId: number; categoryId: number; inCart: boolean; bought: boolean },
  repurchasable: (productId: number, categoryId: number) => boolean,
) {
  return !c.inCart && !(c.bought && !repurchasable(c.productId, c.categoryId));
}

/** Candidate rows serving reads for a list of `first`: enough for the category cap (and training cuts the same way). */
export function rowsConsidered(first: number): number {
  return Math.max(30, first * 3);
}

/**
 * One validation customer, packed for fast re-scoring: the candidates serving would consider as of the
 * validation moment (those it would drop, in the cart or bought, already left out), and what they did then.
 */
export interface FitCase {
  ids: Int32Array;
  categories: Int32Array;
  /** Row-major: candidate i's features at i × RANKER_FEATURES.length. */
  features: Float64Array;
  heldOut: ReadonlySet<number>;
}

export function packCase(
  candidates: readonly Candidate[],
  heldOut: ReadonlySet<number>,
  repurchasable: (productId: number, categoryId: number) => boolean,
): FitCase {
  const kept = candidates.filter((c) => servable(c, repurchasable));
  const n = RANKER_FEATURES.length;
  const features = new Float64Array(kept.length * n);
  kept.forEach((c, i) => {
    for (let f = 0; f < n; f++) features[i * n + f] = c.features[f] ?? 0;
  });
  return { ids: Int32Array.from(kept, (c) => c.productId), categories: Int32Array.from(kept, (c) => c.categoryId), features, heldOut };
}

export interface FitResult {
  ranker: RankerWeights;
  /** Validation HR@10 and NDCG@10 of the fitted and of the default weights on the same cases. */
  fitted: { hr: number; ndcg: number };
  defaults: { hr: number; ndcg: number };
  cases: number;
  /** Weight sets scored. */
  evaluations: number;
}

const K = 10;
/** Serving diversifies the best rowsConsidered(first) eligible rows; the fit cuts the same way. */
const CONSIDERED = rowsConsidered(K);

/** HR@10 and NDCG@10 of a ranker over fitting cases, with serving's cut (top 30 eligible) and diversity. */
export function scoreCases(cases: readonly FitCase[], ranker: RankerWeights): { hr: number; ndcg: number } {
  const w = weightVector(ranker);
  const n = w.length;
  const cap = perCategoryCap(K, ranker.maxCategoryShare, false);
  const topScore = new Float64Array(CONSIDERED);
  const topIndex = new Int32Array(CONSIDERED);
  const lists: RankedCase[] = [];
  for (const c of cases) {
    // The CONSIDERED best by score, ties by product id (as the query orders them), by insertion.
    let size = 0;
    for (let i = 0; i < c.ids.length; i++) {
      let s = 0;
      for (let f = 0; f < n; f++) s += w[f]! * c.features[i * n + f]!;
      if (size === CONSIDERED && (s < topScore[size - 1]! || (s === topScore[size - 1]! && c.ids[i]! > c.ids[topIndex[size - 1]!]!))) continue;
      let at = size === CONSIDERED ? size - 1 : size++;
      while (at > 0 && (topScore[at - 1]! < s || (topScore[at - 1]! === s && c.ids[topIndex[at - 1]!]! > c.ids[i]!))) {
        topScore[at] = topScore[at - 1]!;
        topIndex[at] = topIndex[at - 1]!;
        at--;
      }
      topScore[at] = s;
      topIndex[at] = i;
    }
    const ranked = Array.from(topIndex.subarray(0, size), (i) => ({ productId: c.ids[i]!, categoryId: c.categories[i]! }));
    lists.push({ recommended: diversify(ranked, K, cap).map((x) => x.productId), heldOut: c.heldOut });
  }
  return { hr: hitRate(lists, K), ndcg: ndcg(lists, K) };
}

/** The grid coordinate ascent tries for each weight (the scale is set by the features' [0, 1]-ish ranges). */
const WEIGHT_GRID = [0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30];
const SHARE_GRID = [0.3, 0.5, 0.7, 1];

/**
 * Coordinate ascent on HR@10 + NDCG@10: each weight in turn takes the grid value (or a ×0.5 / ×2 step of its
 * current value) that scores best, until a round changes nothing.
 * A change must gain more than `minGain` to count — by default 1.5 validation users' hits or 0.5% of the
 * objective, whichever is more — so noise-level differences keep the weights they have.
 */
export function fitRanker(cases: readonly FitCase[], options: { rounds?: number; minGain?: number } = {}): FitResult {
  const rounds = options.rounds ?? 4;
  const gainFor = (score: number) => options.minGain ?? Math.max(1.5 / Math.max(cases.length, 1), 0.005 * score);
  let evaluations = 0;
  const objective = (r: RankerWeights) => {
    evaluations++;
    const s = scoreCases(cases, r);
    return s.hr + s.ndcg;
  };
  const onlyOne = (feature: RankerFeature) => rankerOf((f) => (f === feature ? 1 : 0));
  const ascend = (start: RankerWeights): { ranker: RankerWeights; score: number } => {
    let best = start;
    let bestScore = objective(start);
    const consider = (candidate: RankerWeights): boolean => {
      const s = objective(candidate);
      if (s <= bestScore + gainFor(bestScore)) return false;
      best = candidate;
      bestScore = s;
      return true;
    };
    for (let round = 0; round < rounds; round++) {
      let changed = false;
      for (const f of RANKER_FEATURES) {
        const current = best.weights[f];
        for (const value of new Set([...WEIGHT_GRID, current * 0.5, current * 2]))
          if (value !== current && consider({ ...best, weights: { ...best.weights, [f]: value } })) changed = true;
      }
      for (const share of SHARE_GRID) if (share !== best.maxCategoryShare && consider({ ...best, maxCategoryShare: share })) changed = true;
      if (!changed) break;
    }
    return { ranker: best, score: bestScore };
  };
  // Five starts (the defaults; recent popularity, all-time popularity, EASE, item-kNN alone): coordinate ascent stops at the first
  // local optimum, and which one a shop's history leads to depends on where it starts. The best end wins; a
  // later start must beat an earlier one by the minimum gain.
  let { ranker: best, score: bestScore } = ascend(DEFAULT_RANKER);
  for (const start of [onlyOne('popularRecent'), onlyOne('popular'), onlyOne('learnedEase'), onlyOne('learned')]) {
    const end = ascend(start);
    if (end.score > bestScore + gainFor(bestScore)) ({ ranker: best, score: bestScore } = end);
  }
  return { ranker: best, fitted: scoreCases(cases, best), defaults: scoreCases(cases, DEFAULT_RANKER), cases: cases.length, evaluations };
}
