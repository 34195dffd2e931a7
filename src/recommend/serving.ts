import type pg from 'pg';
import { AppError } from '../errors.js';

/*
 * Serving: recommendations for a customer from the features Flink maintains (flink/recommendation-features.sql),
 * in one prepared SQL round trip on the pg pool (a Prisma query costs ~0.4 ms of CPU before it reaches the
 * database; see bench/RESULTS.md). Candidates come from three sources, scored on one scale:
 *   similar  – item-to-item co-occurrence with the customer's recent items, cosine-normalised
 *              (n(a,b) / sqrt(n(a) n(b))), co-purchase counting double, weighted by how strongly and how
 *              recently the customer interacted with the source item   → "bought together with X" / "viewed together with X"
 *   revisit  – products the customer viewed, wishlisted or carted recently and has not bought
 *                                                                        → "you showed interest in it recently"
 *   affinity – popular products of the customer's favourite categories   → "popular in Y"
 *   trending – the hour's trend, or all-time popularity (cold start)     → "trending this hour" / "popular in the shop"
 * Excluded: products the customer bought (unless repurchasable) or has in the cart, inactive or out-of-stock
 * products. Diversity: at most `maxPerCategory` products of one category in a list.
 */

export interface Recommendation {
  productId: number;
  name: string;
  categoryId: number;
  categoryName: string;
  price: string;
  score: number;
  reason: string;
  source: 'similar' | 'revisit' | 'affinity' | 'trending';
}

export interface RecommendOptions {
  /** Serve as of this moment (offline evaluation); now by default. */
  asOf?: Date;
  first?: number;
  categoryId?: number;
  /** Products that may be recommended again after a purchase (consumables). By default those of the recommender's repurchasable categories. */
  repurchasable?: (productId: number, categoryId: number) => boolean;
}

/** Rows the query hands to ranking in JS per product asked for (diversity needs some beyond `first`). */
const ROWS_PER_ITEM = 3;
/** How many of the customer's latest items seed similar items and revisits. */
const RECENT = 30;
/** Neighbours read per recent item and kind (view, purchase): the strongest by count, re-ranked by cosine. */
const NEIGHBOURS = 25;
/** Favourite categories whose popular products are candidates, and products read per category. */
const TOP_CATEGORIES = 3;
const PER_CATEGORY = 30;
/** Trending and popular candidates. */
const TRENDING = 50;
/** Recency decay of a customer's interactions, relative to their newest one (seconds). */
const DECAY_SECONDS = 7 * 86400;
/** Weight of the customer's own recent, unbought interests against similar items (see bench/RESULTS.md, evaluate). */
const REVISIT_WEIGHT = 2.0;
/** Weight of popular products in the customer's favourite categories. */
const AFFINITY_WEIGHT = 16.0;
/**
 * Damping of popularity within a liked category (1 = linear): less-known products of the category come closer
 * to its best sellers (rtrec evaluate, full set: 0.8 gives HR@10 0.802 → 0.810; see bench/RESULTS.md).
 */
const POPULARITY_EXPONENT = 0.8;

/*
 * Every source reads a bounded number of rows through an index (see bench/RESULTS.md, bench:recommend): the
 * customer's latest RECENT items (customer_id, last_at), NEIGHBOURS co-occurrences per item and kind
 * (product_a, kind, together), PER_CATEGORY products in each of TOP_CATEGORIES categories (products.category_id),
 * TRENDING of the hour's trend and of all-time popularity (score). The sources' rows are summed per product;
 * the strongest one names the reason.
 */
const RECOMMEND_SQL = `
WITH recent AS (
  SELECT product_id, last_at, purchases, (views + 2 * wishlists + 3 * carts + 5 * purchases)::float8 AS strength
  FROM rec_customer_product WHERE customer_id = $1 ORDER BY last_at DESC LIMIT ${RECENT}
),
weighted AS (
  -- how strongly and how recently (relative to the customer's own newest interaction, so history replays keep
  -- their shape) the customer interacted with each recent item
  SELECT product_id, purchases, ln(1 + strength) * exp(-extract(epoch FROM (max(last_at) OVER () - last_at)) / ${DECAY_SECONDS}.0) AS w
  FROM recent
),
similar_items AS (
  -- cosine-normalised co-occurrence n(a,b) / sqrt(n(a) n(b)), co-purchase counting double
  SELECT c.product_b AS product_id, c.together / sqrt(sa.support::float8 * sb.support::float8) * k.factor * r.w AS score,
         r.product_id AS source_id, k.kind
  FROM weighted r
  CROSS JOIN (VALUES ('view'::varchar, 1.0::float8), ('purchase'::varchar, 2.0::float8)) k(kind, factor)
  JOIN rec_item_support sa ON sa.product_id = r.product_id AND sa.kind = k.kind
  CROSS JOIN LATERAL (
    SELECT product_b, together FROM rec_cooccurrence
    WHERE product_a = r.product_id AND kind = k.kind ORDER BY together DESC LIMIT ${NEIGHBOURS}) c
  JOIN rec_item_support sb ON sb.product_id = c.product_b AND sb.kind = k.kind
),
categories_liked AS (
  SELECT category_id, score / nullif(sum(score) OVER (), 0) AS share
  FROM rec_customer_category WHERE customer_id = $1
),
affinity AS (
  -- popularity within the category (its best product = 1), damped, times the category's share of the customer's interest
  SELECT x.product_id,
         ${AFFINITY_WEIGHT} * a.share * power(x.score / greatest(first_value(x.score) OVER (PARTITION BY a.category_id ORDER BY x.score DESC), 1e-9), ${POPULARITY_EXPONENT}) AS score
  FROM (SELECT * FROM categories_liked ORDER BY share DESC LIMIT ${TOP_CATEGORIES}) a
  CROSS JOIN LATERAL (
    SELECT ps.product_id, ps.score FROM products p JOIN rec_product_stats ps ON ps.product_id = p.product_id
    WHERE p.category_id = a.category_id ORDER BY ps.score DESC LIMIT ${PER_CATEGORY}) x
),
hour AS (
  SELECT product_id, score FROM rec_product_trend WHERE window_end > $4::timestamptz - interval '1 hour' ORDER BY score DESC LIMIT ${TRENDING}
),
popular AS (SELECT product_id, score FROM rec_product_stats ORDER BY score DESC LIMIT ${TRENDING}),
candidates AS (
  SELECT product_id, 'similar' AS source, score, source_id, kind FROM similar_items
  UNION ALL
  -- what the customer showed interest in and has not bought: come back to it
  SELECT product_id, 'revisit', ${REVISIT_WEIGHT} * w, NULL::int, NULL::varchar FROM weighted WHERE purchases = 0
  UNION ALL
  SELECT product_id, 'affinity', score, NULL::int, NULL::varchar FROM affinity
  UNION ALL
  SELECT product_id, 'trending', 0.2 * score / greatest((SELECT max(score) FROM hour), 1), NULL::int, 'hour'::varchar FROM hour
  UNION ALL
  SELECT product_id, 'trending', 0.1 * score / greatest((SELECT max(score) FROM popular), 1), NULL::int, 'all'::varchar FROM popular
),
best AS (
  SELECT product_id, sum(score) AS total,
         (array_agg(source ORDER BY score DESC))[1] AS source, (array_agg(source_id ORDER BY score DESC))[1] AS source_id,
         (array_agg(kind ORDER BY score DESC))[1] AS kind
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
SELECT b.product_id, b.name, b.category_id, c.name AS category_name, b.price::text AS price, b.total AS score, b.source, b.kind,
       s.name AS source_name, (SELECT bool_or(bought) FROM excluded e WHERE e.product_id = b.product_id) AS excluded_bought,
       EXISTS (SELECT 1 FROM excluded e WHERE e.product_id = b.product_id AND NOT e.bought) AS in_cart
FROM ranked b
JOIN categories c ON c.category_id = b.category_id
LEFT JOIN products s ON s.product_id = b.source_id
ORDER BY b.total DESC, b.product_id`;

interface Row {
  product_id: number;
  name: string;
  category_id: number;
  category_name: string;
  price: string;
  score: number;
  source: 'similar' | 'revisit' | 'affinity' | 'trending';
  kind: string | null;
  source_name: string | null;
  excluded_bought: boolean | null;
  in_cart: boolean;
}

export function reasonFor(row: Pick<Row, 'source' | 'kind' | 'source_name' | 'category_name'>): string {
  if (row.source === 'similar') return row.kind === 'purchase' ? `bought together with ${row.source_name}` : `viewed together with ${row.source_name}`;
  if (row.source === 'revisit') return 'you showed interest in it recently';
  if (row.source === 'affinity') return `popular in ${row.category_name}, a category you like`;
  return row.kind === 'hour' ? `popular in ${row.category_name} this hour` : `popular in ${row.category_name}`;
}

/**
 * Greedy diversity: walks the list by score and skips a product whose category already has `maxPerCategory`
 * entries, unless nothing else is left to fill the list.
 */
export function diversify<T extends { categoryId: number }>(ranked: T[], first: number, maxPerCategory: number): T[] {
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

export interface RecommenderDefaults {
  /** Categories whose products may be recommended again after a purchase (RECOMMEND_REPURCHASABLE_CATEGORIES). */
  repurchasableCategories?: readonly number[];
}

export function createRecommender(pool: pg.Pool, defaults: RecommenderDefaults = {}) {
  const again = new Set(defaults.repurchasableCategories ?? []);
  const byCategory = (_productId: number, categoryId: number) => again.has(categoryId);
  return {
    /** The options it was made with (the composition root passes the configured ones). */
    options: defaults,
    async recommend(customerId: number, options: RecommendOptions = {}): Promise<Recommendation[]> {
      const first = options.first ?? 10;
      if (!Number.isInteger(customerId) || customerId < 1) throw new AppError('BAD_USER_INPUT', `customerId must be a positive integer, got ${customerId}.`);
      if (!Number.isInteger(first) || first < 1 || first > 100) throw new AppError('BAD_USER_INPUT', `first must be between 1 and 100, got ${first}.`);
      const { rows } = await pool.query<Row>({
        name: 'rtrec-recommend',
        text: RECOMMEND_SQL,
        values: [customerId, options.categoryId ?? null, Math.max(30, first * ROWS_PER_ITEM), options.asOf ?? new Date()],
      });
      const eligible = rows
        .filter((r) => !r.in_cart && !(r.excluded_bought && !(options.repurchasable ?? byCategory)(r.product_id, r.category_id)))
        .map((r) => ({
          productId: r.product_id,
          name: r.name,
          categoryId: r.category_id,
          categoryName: r.category_name,
          price: r.price,
          score: Number(r.score),
          reason: reasonFor(r),
          source: r.source,
        }));
      // One category may fill the list when the caller asked for that category.
      // Customers concentrate on few categories (measured with rtrec evaluate): keep 30% of a list for others.
      return diversify(eligible, first, options.categoryId ? first : Math.max(2, Math.ceil(first * 0.7)));
    },
  };
}

export type Recommender = ReturnType<typeof createRecommender>;

/** Products most often viewed or bought with `productId`, cosine-normalised, active and in stock. */
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
