import type pg from 'pg';
import { AppError } from '../errors.js';
import { RANKER_FEATURES, type RankerFeature, type RankerWeights, rankerOf } from '../recommend/ranker.js';
import type { Recommendation, Recommender, RecommendOptions } from '../recommend/serving.js';

/*
 * What a variant of an experiment serves: a recommender configuration. Every one but `random` is the served
 * query (src/recommend/serving.ts) with other ranker weights, so each variant gets the same exclusions (bought,
 * in the cart, inactive, out of stock) and differs only in how it ranks:
 *   ours          the served ranker (rtrec train's weights, or the defaults), params may override weights
 *   most-popular  all-time popularity only
 *   trending      the hour's trend, then all-time popularity
 *   item-knn      the trained item-kNN neighbours of the customer's recent items (rtrec train), then popularity
 *   ease          the trained EASE weights of the customer's recent items (rtrec train), then popularity
 *   random        active, in-stock products drawn uniformly (not in the cart)
 * params (all but random): { "weights": { "<signal>": number ≥ 0, ... }, "maxCategoryShare": (0, 1] }, applied
 * over the recommender's own weights; the signals are those of src/recommend/ranker.ts.
 */

export const VARIANT_RECOMMENDERS = ['ours', 'most-popular', 'trending', 'item-knn', 'ease', 'random'] as const;
export type VariantRecommender = (typeof VARIANT_RECOMMENDERS)[number];

export interface VariantParams {
  weights?: Partial<Record<RankerFeature, number>>;
  maxCategoryShare?: number;
}

const only = (weights: Partial<Record<RankerFeature, number>>) => rankerOf((f) => weights[f] ?? 0, 1);

/** The fixed weights of the recommenders that are not `ours` (whose base is the served ranker). */
const BASE: Record<Exclude<VariantRecommender, 'ours' | 'random'>, RankerWeights> = {
  'most-popular': only({ popular: 1 }),
  trending: only({ trendHour: 1, popular: 0.01 }),
  'item-knn': only({ learned: 1, popular: 1e-3 }),
  ease: only({ learnedEase: 1, popular: 1e-3 }),
};

export function isVariantRecommender(name: string): name is VariantRecommender {
  return (VARIANT_RECOMMENDERS as readonly string[]).includes(name);
}

/** Checks a variant's recommender and params; the message names the field and what is allowed. */
export function parseVariantParams(recommender: string, params: unknown, field: string): VariantParams {
  if (!isVariantRecommender(recommender))
    throw new AppError('BAD_USER_INPUT', `${field}.recommender must be one of ${VARIANT_RECOMMENDERS.join(', ')}, got "${recommender}".`, {
      field: `${field}.recommender`,
    });
  const at = `${field}.params`;
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params))
    throw new AppError('BAD_USER_INPUT', `${at} must be a JSON object such as {"weights":{"affinity":8}}.`, { field: at });
  const p = params as Record<string, unknown>;
  const unknown = Object.keys(p).filter((k) => k !== 'weights' && k !== 'maxCategoryShare');
  if (unknown.length) throw new AppError('BAD_USER_INPUT', `${at} has unknown keys ${unknown.join(', ')}: only weights and maxCategoryShare.`, { field: at });
  if (recommender === 'random' && Object.keys(p).length) throw new AppError('BAD_USER_INPUT', `${at} must be empty for the random recommender.`, { field: at });
  const out: VariantParams = {};
  if (p.weights !== undefined) {
    if (typeof p.weights !== 'object' || p.weights === null || Array.isArray(p.weights))
      throw new AppError('BAD_USER_INPUT', `${at}.weights must be an object of signal → weight.`, { field: `${at}.weights` });
    out.weights = {};
    for (const [name, value] of Object.entries(p.weights)) {
      if (!(RANKER_FEATURES as readonly string[]).includes(name))
        throw new AppError('BAD_USER_INPUT', `${at}.weights.${name} is not a signal; use ${RANKER_FEATURES.join(', ')}.`, { field: `${at}.weights` });
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1e6)
        throw new AppError('BAD_USER_INPUT', `${at}.weights.${name} must be a number from 0 to 1000000, got ${JSON.stringify(value)}.`, {
          field: `${at}.weights`,
        });
      out.weights[name as RankerFeature] = value;
    }
  }
  if (p.maxCategoryShare !== undefined) {
    const s = p.maxCategoryShare;
    if (typeof s !== 'number' || !(s > 0 && s <= 1))
      throw new AppError('BAD_USER_INPUT', `${at}.maxCategoryShare must be a number in (0, 1], got ${JSON.stringify(s)}.`, { field: `${at}.maxCategoryShare` });
    out.maxCategoryShare = s;
  }
  return out;
}

/** The weights a variant ranks with: its recommender's base (the served ranker for ours) with its params over it. */
export function variantRanker(recommender: Exclude<VariantRecommender, 'random'>, params: VariantParams, served: RankerWeights): RankerWeights {
  const base = recommender === 'ours' ? served : BASE[recommender];
  return {
    weights: { ...base.weights, ...params.weights },
    maxCategoryShare: params.maxCategoryShare ?? base.maxCategoryShare,
  };
}

const RANDOM_SQL = `
SELECT p.product_id, p.name, p.category_id, c.name AS category_name, p.price::text AS price
FROM products p JOIN categories c ON c.category_id = p.category_id
WHERE p.is_active AND p.stock > 0 AND ($2::int IS NULL OR p.category_id = $2)
  AND NOT EXISTS (SELECT 1 FROM carts k WHERE k.customer_id = $1 AND k.product_id = p.product_id)
ORDER BY random() LIMIT $3`;

/** Serves one variant's list for a customer. */
export async function serveVariant(
  deps: { pool: pg.Pool; recommender: Recommender },
  variant: { recommender: VariantRecommender; params: VariantParams },
  customerId: number,
  options: RecommendOptions,
): Promise<Recommendation[]> {
  if (variant.recommender === 'random') {
    const { rows } = await deps.pool.query<{ product_id: number; name: string; category_id: number; category_name: string; price: string }>({
      name: 'rtrec-experiment-random',
      text: RANDOM_SQL,
      values: [customerId, options.categoryId ?? null, options.first ?? 10],
    });
    return rows.map((r, i) => ({
      productId: r.product_id,
      name: r.name,
      categoryId: r.category_id,
      categoryName: r.category_name,
      price: r.price,
      score: 1 / (i + 1),
      reason: 'random baseline',
      source: 'random',
    }));
  }
  const ranker = variantRanker(variant.recommender, variant.params, await deps.recommender.ranker());
  return deps.recommender.recommend(customerId, { ...options, ranker });
}
