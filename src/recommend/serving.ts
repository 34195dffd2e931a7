import type pg from 'pg';
import { AppError } from '../errors.js';
import { EASE_MODEL, NEIGHBOUR_MODEL } from './neighbours.js';
import {
  type Candidate,
  DEFAULT_RANKER,
  finalList,
  parseRanker,
  RANKER_FEATURES,
  type RankerFeature,
  type RankerWeights,
  rankerOf,
  rowsConsidered,
  weightVector,
} from './ranker.js';

/*
 * Serving: recommendations for a customer from the features Flink maintains (flink/recommendation-features.sql),
 * in one prepared SQL round trip on the pg pool (a Prisma query costs ~0.4 ms of CPU before it reaches the
 * database; see bench/RESULTS.md). Candidates come from these sources, each a signal of the ranker (ranker.ts):
 *   similar  – item-to-item co-occurrence with the customer's recent items, cosine-normalised
 *              (n(a,b) / sqrt(n(a) n(b))), co-view and co-purchase apart, weighted by how strongly and how
 *              recently the customer interacted with the source item   → "bought together with X" / "viewed together with X"
 *   revisit  – products the customer viewed, wishlisted or carted recently and has not bought
 *                                                                        → "you showed interest in it recently"
 *   affinity – popular products of the customer's favourite categories   → "popular in Y, a category you like"
 *   trending – the hour's trend, recency-weighted or all-time popularity → "popular in Y this hour" / "lately" / "popular in Y"
 *   learned  – item-kNN neighbours and EASE weights of the customer's recent items, fitted by `rtrec train`
 *              (neighbours.ts), two signals                              → "often chosen by customers who chose X"
 * A product's score is the weighted sum of its signals, with the weights `rtrec train` fitted on this shop's
 * history (rec_ranker) or the defaults; its strongest weighted signal names the reason.
 * Excluded: products the customer bought (unless repurchasable) or has in the cart, inactive or out-of-stock
 * products. Diversity: at most the ranker's share of a list from one category.
 */

export interface Recommendation {
  productId: number;
  name: string;
  categoryId: number;
  categoryName: string;
  price: string;
  score: number;
  reason: string;
  source: 'similar' | 'revisit' | 'affinity' | 'trending' | 'learned' | 'random' | 'promoted';
  /** The experiment and variant that served the list (src/experiments), when one runs on the placement. */
  experimentId?: number;
  variantId?: number;
  variant?: string;
}

export interface RecommendOptions {
  /** Serve as of this moment (offline evaluation); now by default. */
  asOf?: Date;
  first?: number;
  categoryId?: number;
  /** Products that may be recommended again after a purchase (consumables). By default those of the recommender's repurchasable categories. */
  repurchasable?: (productId: number, categoryId: number) => boolean;
}

/** How many of the customer's latest items seed similar items, revisits and the recent category shares. */
const RECENT = 30;
/** Neighbours read per recent item and kind (view, purchase): the strongest by count, re-ranked by cosine. */
const NEIGHBOURS = 25;
/** Favourite categories whose popular products are candidates, and products read per category. */
const TOP_CATEGORIES = 3;
const PER_CATEGORY = 30;
/** Trending, popular and recently popular candidates (each list). */
const TRENDING = 100;
/** Recency decay of a customer's interactions, relative to their newest one (seconds). */
const DECAY_SECONDS = 7 * 86400;
/**
 * Damping of popularity within a liked category (1 = linear): less-known products of the category come closer
 * to its best sellers (rtrec evaluate, full set: 0.8 gives HR@10 0.802 → 0.810; see bench/RESULTS.md).
 */
const POPULARITY_EXPONENT = 0.8;
/** More rows than any candidate set holds: training reads every candidate. */
const ALL_CANDIDATES = 100_000;

/*
 * Every source reads a bounded number of rows through an index (see bench/RESULTS.md, bench:recommend): the
 * customer's latest RECENT items (customer_id, last_at), NEIGHBOURS co-occurrences per item and kind
 * (product_a, kind, together), PER_CATEGORY products in each of TOP_CATEGORIES categories (products.category_id),
 * TRENDING of the hour's trend, of all-time and of recent popularity (score, recent_score). Each candidate row
 * carries one signal (f = its index in RANKER_FEATURES, 1-based) and a raw value; a product's score is
 * Σ weight[f] · value ($5, the ranker's weights) and its strongest weighted signal names the reason. A source
 * whose weight is 0 is not read at all (its rows could only add 0), except all-time popularity, which always
 * runs: it is the cold-start list and the final tie-break (weightVector keeps its weight above 0).
 */
/** One learned source: `model`'s stored neighbours of the customer's recent items, read when weight `f` is above 0. */
const learnedSql = (model: string, f: number) => `
  SELECT n.product_b AS product_id, sum(n.score) AS score, (array_agg(n.product_a ORDER BY n.score DESC))[1] AS source_id
  FROM recent r CROSS JOIN LATERAL (
    SELECT product_a, product_b, score FROM rec_model_neighbours
    WHERE model = '${model}' AND product_a = r.product_id ORDER BY score DESC LIMIT ${NEIGHBOURS}) n
  WHERE ($5::float8[])[${f}] > 0
  GROUP BY n.product_b`;

/** The candidates query; `withFeatures` adds each candidate's raw signal values (training reads them, serving does not). */
const recommendSql = (withFeatures: boolean) => `
WITH recent AS (
  SELECT product_id, last_at, purchases, (views + 2 * wishlists + 3 * carts + 5 * purchases)::float8 AS strength
  FROM rec_customer_product WHERE customer_id = $1 ORDER BY last_at DESC LIMIT ${RECENT}
),
weighted AS (
  -- how strongly and how recently (relative to the customer's own newest interaction, so history replays keep
  -- their shape) the customer interacted with each recent item
  SELECT product_id, purchases, strength, ln(1 + strength) * exp(-extract(epoch FROM (max(last_at) OVER () - last_at)) / ${DECAY_SECONDS}.0) AS w
  FROM recent
),
similar_items AS (
  -- cosine-normalised co-occurrence n(a,b) / sqrt(n(a) n(b)), times the source item's weight
  SELECT c.product_b AS product_id, c.together / sqrt(sa.support::float8 * sb.support::float8) * r.w AS score,
         r.product_id AS source_id, k.f
  FROM weighted r
  CROSS JOIN (VALUES ('view'::varchar, 1), ('purchase'::varchar, 2)) k(kind, f)
  JOIN rec_item_support sa ON sa.product_id = r.product_id AND sa.kind = k.kind AND ($5::float8[])[k.f] > 0
  CROSS JOIN LATERAL (
    SELECT product_b, together FROM rec_cooccurrence
    WHERE product_a = r.product_id AND kind = k.kind ORDER BY together DESC LIMIT ${NEIGHBOURS}) c
  JOIN rec_item_support sb ON sb.product_id = c.product_b AND sb.kind = k.kind
),
categories_liked AS (
  -- the customer's interest per category: Flink's view/cart/wishlist affinity plus the purchases among their
  -- recent items (weight 5 each, as everywhere), as shares
  SELECT category_id, sum(score) / nullif(sum(sum(score)) OVER (), 0) AS share FROM (
    SELECT category_id, score FROM rec_customer_category WHERE customer_id = $1
    UNION ALL
    SELECT p.category_id, 5.0 * r.purchases FROM weighted r JOIN products p ON p.product_id = r.product_id WHERE r.purchases > 0
  ) x GROUP BY category_id
),
affinity AS (
  -- popularity within the category (its best product = 1), damped, times the category's share of the customer's interest
  SELECT x.product_id,
         a.share * power(x.score / greatest(first_value(x.score) OVER (PARTITION BY a.category_id ORDER BY x.score DESC), 1e-9), ${POPULARITY_EXPONENT}) AS score
  FROM (SELECT * FROM categories_liked WHERE ($5::float8[])[4] > 0 ORDER BY share DESC LIMIT ${TOP_CATEGORIES}) a
  CROSS JOIN LATERAL (
    SELECT ps.product_id, ps.score FROM products p JOIN rec_product_stats ps ON ps.product_id = p.product_id
    WHERE p.category_id = a.category_id ORDER BY ps.score DESC LIMIT ${PER_CATEGORY}) x
),
hour AS (
  SELECT product_id, score FROM rec_product_trend WHERE window_end > $4::timestamptz - interval '1 hour' AND ($5::float8[])[5] > 0 ORDER BY score DESC LIMIT ${TRENDING}
),
-- the learned neighbours of the customer's recent items (rtrec train): item-kNN similarities and EASE's weights
-- B_ij, each summed over the recent items as the model scores a user
learned AS (${learnedSql(NEIGHBOUR_MODEL, 8)}),
learned_ease AS (${learnedSql(EASE_MODEL, 9)}),
popular AS (SELECT product_id, score FROM rec_product_stats ORDER BY score DESC LIMIT ${TRENDING}),
popular_recent AS (SELECT product_id, recent_score AS score FROM rec_product_stats WHERE ($5::float8[])[7] > 0 ORDER BY recent_score DESC LIMIT ${TRENDING}),
candidates AS (
  SELECT product_id, f, score AS v, source_id FROM similar_items
  UNION ALL
  -- what the customer showed interest in and has not bought: come back to it
  SELECT product_id, 3, w, NULL::int FROM weighted WHERE purchases = 0
  UNION ALL
  SELECT product_id, 4, score, NULL::int FROM affinity
  UNION ALL
  SELECT product_id, 5, score / nullif((SELECT max(score) FROM hour), 0), NULL::int FROM hour
  UNION ALL
  SELECT product_id, 6, score / nullif((SELECT max(score) FROM popular), 0), NULL::int FROM popular
  UNION ALL
  SELECT product_id, 7, score / nullif((SELECT max(score) FROM popular_recent), 0), NULL::int FROM popular_recent
  UNION ALL
  SELECT product_id, 8, score, source_id FROM learned
  UNION ALL
  SELECT product_id, 9, score, source_id FROM learned_ease
),
best AS (
  SELECT product_id, sum(($5::float8[])[f] * coalesce(v, 0)) AS total,
         (array_agg(f ORDER BY ($5::float8[])[f] * coalesce(v, 0) DESC))[1] AS f,
         (array_agg(source_id ORDER BY ($5::float8[])[f] * coalesce(v, 0) DESC))[1] AS source_id${
           withFeatures
             ? `,
         ARRAY[${RANKER_FEATURES.map((_, i) => i + 1)
           .map((f) => `coalesce(sum(v) FILTER (WHERE f = ${f}), 0)`)
           .join(', ')}]::float8[] AS features`
             : ''
         }
  FROM candidates GROUP BY product_id
),
excluded AS (
  SELECT product_id, true AS bought FROM rec_customer_product WHERE customer_id = $1 AND purchases > 0
  UNION SELECT oi.product_id, true FROM orders o JOIN order_items oi ON oi.order_id = o.order_id WHERE o.customer_id = $1
  UNION SELECT product_id, false FROM carts WHERE customer_id = $1
),
ranked AS (
  SELECT b.*, p.name, p.category_id, p.price
  FROM best b JOIN products p ON p.product_id = b.product_id AND p.is_active AND p.stock > 0
  WHERE ($2::int IS NULL OR p.category_id = $2)
  ORDER BY b.total DESC, b.product_id
  -- enough rows for the list, its diversity, and what the customer bought or carted (dropped in JS)
  LIMIT $3 + (SELECT count(*) FROM excluded)
)
SELECT b.product_id, b.name, b.category_id, c.name AS category_name, b.price::text AS price, b.total AS score, b.f,${withFeatures ? ' b.features,' : ''}
       s.name AS source_name, coalesce((SELECT bool_or(bought) FROM excluded e WHERE e.product_id = b.product_id), false) AS excluded_bought,
       EXISTS (SELECT 1 FROM excluded e WHERE e.product_id = b.product_id AND NOT e.bought) AS in_cart${
         withFeatures
           ? ''
           : `,
       -- which of the products the caller watches ($6: merchandising pins) are in the cart, in the same round trip
       (SELECT array_agg(product_id) FROM carts WHERE customer_id = $1 AND product_id = ANY($6::int[])) AS watched_in_cart`
       }
FROM ranked b
JOIN categories c ON c.category_id = b.category_id
LEFT JOIN products s ON s.product_id = b.source_id
ORDER BY b.total DESC, b.product_id`;
const SERVE_SQL = recommendSql(false);
const CANDIDATES_SQL = recommendSql(true);

interface Row {
  product_id: number;
  name: string;
  category_id: number;
  category_name: string;
  price: string;
  score: number;
  /** The strongest weighted signal (1-based index into RANKER_FEATURES). */
  f: number;
  /** Only in the training query (`candidates`). */
  features?: number[];
  source_name: string | null;
  excluded_bought: boolean;
  in_cart: boolean;
  /** Only in the serving query: which watched products are in the cart (null: none). */
  watched_in_cart?: number[] | null;
}

type Signal = RankerFeature;

/** The human-readable reason of a product's strongest signal. */
export function reasonFor(signal: Signal, names: { sourceName: string | null; categoryName: string }): string {
  switch (signal) {
    case 'similarView':
      return `viewed together with ${names.sourceName}`;
    case 'similarPurchase':
      return `bought together with ${names.sourceName}`;
    case 'revisit':
      return 'you showed interest in it recently';
    case 'affinity':
      return `popular in ${names.categoryName}, a category you like`;
    case 'trendHour':
      return `popular in ${names.categoryName} this hour`;
    case 'popularRecent':
      return `popular in ${names.categoryName} lately`;
    case 'learned':
    case 'learnedEase':
      return `often chosen by customers who chose ${names.sourceName}`;
    default:
      return `popular in ${names.categoryName}`;
  }
}

const SOURCE_OF: Record<Signal, Recommendation['source']> = {
  similarView: 'similar',
  similarPurchase: 'similar',
  revisit: 'revisit',
  affinity: 'affinity',
  trendHour: 'trending',
  popular: 'trending',
  popularRecent: 'trending',
  learned: 'learned',
  learnedEase: 'learned',
};

export interface RecommenderDefaults {
  /** Categories whose products may be recommended again after a purchase (RECOMMEND_REPURCHASABLE_CATEGORIES). */
  repurchasableCategories?: readonly number[];
  /**
   * The ranker's weights: the row `rtrec train` wrote (rec_ranker, re-read every `rankerTtlMs`), else
   * DEFAULT_RANKER. A fixed value here (the evaluation's fitted weights) skips the table.
   */
  ranker?: RankerWeights;
  /** How long fitted weights read from rec_ranker are used before they are read again (default 30 s). */
  rankerTtlMs?: number;
}

/** Weights that read every source (training needs each candidate's every signal). */
const EVERY_SOURCE = rankerOf(() => 1);

/** The ranker row serving reads, by name. */
export const SERVED_RANKER = 'ours';

export function createRecommender(pool: pg.Pool, defaults: RecommenderDefaults = {}) {
  const again = new Set(defaults.repurchasableCategories ?? []);
  const byCategory = (_productId: number, categoryId: number) => again.has(categoryId);
  const ttl = defaults.rankerTtlMs ?? 30_000;
  let stored: { at: number; ranker: Promise<RankerWeights> } | undefined;

  /** The fitted weights of rec_ranker (cached for `ttl`), or the defaults when nothing was trained. */
  function ranker(): Promise<RankerWeights> {
    if (defaults.ranker) return Promise.resolve(defaults.ranker);
    if (!stored || Date.now() - stored.at > ttl) {
      const read = pool
        .query<{ weights: unknown }>({ name: 'rtrec-ranker', text: 'SELECT weights FROM rec_ranker WHERE name = $1', values: [SERVED_RANKER] })
        .then((r) => (r.rows[0] ? parseRanker(r.rows[0].weights, `rec_ranker row '${SERVED_RANKER}'`) : DEFAULT_RANKER));
      stored = { at: Date.now(), ranker: read };
      read.catch(() => {
        stored = undefined;
      });
    }
    return stored.ranker;
  }

  async function query(customerId: number, options: RecommendOptions, rows: number, weights: RankerWeights, watch?: readonly number[]): Promise<Row[]> {
    const values = [customerId, options.categoryId ?? null, rows, options.asOf ?? new Date(), weightVector(weights)];
    const { rows: result } = await pool.query<Row>(
      watch ? { name: 'rtrec-recommend', text: SERVE_SQL, values: [...values, watch] } : { name: 'rtrec-candidates', text: CANDIDATES_SQL, values },
    );
    return result;
  }

  /** The list, and which of `watch` are in the customer's cart (from the same query while it returns rows). */
  async function serve(
    customerId: number,
    options: RecommendOptions & { ranker?: RankerWeights },
    watch: readonly number[],
  ): Promise<{ items: Recommendation[]; inCart: Set<number> }> {
    const first = options.first ?? 10;
    if (!Number.isInteger(customerId) || customerId < 1) throw new AppError('BAD_USER_INPUT', `customerId must be a positive integer, got ${customerId}.`);
    if (!Number.isInteger(first) || first < 1 || first > 100) throw new AppError('BAD_USER_INPUT', `first must be between 1 and 100, got ${first}.`);
    const weights = options.ranker ?? (await ranker());
    // Rows for the list and its diversity (rowsConsidered), plus what the customer bought or carted (the query adds those).
    const rows = await query(customerId, options, rowsConsidered(first), weights, watch);
    const inCart = rows.length > 0 || watch.length === 0 ? new Set(rows[0]?.watched_in_cart ?? []) : await productsInCart(pool, customerId, watch);
    const list = finalList(
      rows.map((r) => ({ ...r, productId: r.product_id, categoryId: r.category_id, inCart: r.in_cart, bought: r.excluded_bought })),
      first,
      { maxCategoryShare: weights.maxCategoryShare, oneCategory: options.categoryId !== undefined, repurchasable: options.repurchasable ?? byCategory },
    );
    const items = list.map((r): Recommendation => {
      const signal = RANKER_FEATURES[r.f - 1] ?? 'popular';
      return {
        productId: r.product_id,
        name: r.name,
        categoryId: r.category_id,
        categoryName: r.category_name,
        price: r.price,
        score: Number(r.score),
        reason: reasonFor(signal, { sourceName: r.source_name, categoryName: r.category_name }),
        source: SOURCE_OF[signal],
      };
    });
    return { items, inCart };
  }

  return {
    /** The options it was made with (the composition root passes the configured ones). */
    options: defaults,
    ranker,
    async recommend(customerId: number, options: RecommendOptions & { ranker?: RankerWeights } = {}): Promise<Recommendation[]> {
      return (await serve(customerId, options, [])).items;
    },
    /**
     * `recommend`, and which of `watch` are in the customer's cart, in one round trip (merchandising pins skip
     * carted products, and a pinned product need not be among the candidates).
     */
    recommendWatching: serve,
    /**
     * Every candidate serving considers for the customer as of `asOf`, with its raw signal values: what
     * `rtrec train` fits the weights on. The same query as `recommend`, without its row limit.
     */
    async candidates(customerId: number, asOf: Date): Promise<Candidate[]> {
      const rows = await query(customerId, { asOf }, ALL_CANDIDATES, EVERY_SOURCE);
      return rows.map((r) => ({
        productId: r.product_id,
        categoryId: r.category_id,
        features: r.features!.map(Number),
        bought: r.excluded_bought,
        inCart: r.in_cart,
      }));
    },
    /** Whether a bought product may be recommended again (the configured repurchasable categories). */
    repurchasable: byCategory,
  };
}

export type Recommender = ReturnType<typeof createRecommender>;

/** Products most often viewed or bought with `productId`, cosine-normalised, active and in stock. */
/** Which of these products are in the customer's cart. */
export async function productsInCart(pool: pg.Pool, customerId: number, productIds: readonly number[]): Promise<Set<number>> {
  if (productIds.length === 0) return new Set();
  const { rows } = await pool.query<{ product_id: number }>({
    name: 'rtrec-products-in-cart',
    text: 'SELECT product_id FROM carts WHERE customer_id = $1 AND product_id = ANY($2::int[])',
    values: [customerId, productIds],
  });
  return new Set(rows.map((r) => r.product_id));
}

export async function similarProducts(pool: pg.Pool, productId: number, first = 10): Promise<{ productId: number; score: number; reason: string }[]> {
  const { rows } = await pool.query<{ product_id: number; score: number; kind: string; source_name: string }>({
    name: 'rtrec-similar',
    text: `SELECT DISTINCT ON (c.product_b) c.product_b AS product_id, c.kind, s.name AS source_name,
                  sum(c.together / sqrt(sa.support::float8 * sb.support::float8) * CASE c.kind WHEN 'purchase' THEN 2.0 ELSE 1.0 END) OVER (PARTITION BY c.product_b) AS score
           FROM rec_cooccurrence c
           JOIN rec_item_support sa ON sa.product_id = c.product_a AND sa.kind = c.kind
           JOIN rec_item_support sb ON sb.product_id = c.product_b AND sb.kind = c.kind
           JOIN products p ON p.product_id = c.product_b AND p.is_active AND p.stock > 0
           JOIN products s ON s.product_id = c.product_a
           WHERE c.product_a = $1
           ORDER BY c.product_b, c.together / sqrt(sa.support::float8 * sb.support::float8) * CASE c.kind WHEN 'purchase' THEN 2.0 ELSE 1.0 END DESC`,
    values: [productId],
  });
  return rows
    .map((r) => ({
      productId: r.product_id,
      score: Number(r.score),
      reason: r.kind === 'purchase' ? `bought together with ${r.source_name}` : `viewed together with ${r.source_name}`,
    }))
    .sort((a, b) => b.score - a.score || a.productId - b.productId)
    .slice(0, first);
}

/** The hour's trend (live interactions over the sliding hour) or all-time popularity, optionally in one category. */
export async function trendingProducts(
  pool: pg.Pool,
  options: { categoryId?: number; window: 'HOUR' | 'ALL_TIME'; first?: number },
): Promise<{ productId: number; score: number; reason: string }[]> {
  const hour = options.window === 'HOUR';
  const joins = 'JOIN products p ON p.product_id = t.product_id JOIN categories c ON c.category_id = p.category_id';
  const source = hour ? `rec_product_trend t ${joins} WHERE t.window_end > now() - interval '1 hour' AND` : `rec_product_stats t ${joins} WHERE`;
  const { rows } = await pool.query<{ product_id: number; score: number; category_name: string }>({
    name: hour ? 'rtrec-trending-hour' : 'rtrec-trending-all',
    text: `SELECT t.product_id, t.score, c.name AS category_name
           FROM ${source} p.is_active AND p.stock > 0 AND ($1::int IS NULL OR p.category_id = $1)
           ORDER BY t.score DESC, t.product_id LIMIT $2`,
    values: [options.categoryId ?? null, options.first ?? 10],
  });
  return rows.map((r) => ({
    productId: r.product_id,
    score: Number(r.score),
    reason: hour ? `popular in ${r.category_name} this hour` : `popular in ${r.category_name}`,
  }));
}
