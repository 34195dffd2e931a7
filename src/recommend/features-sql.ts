import pg from 'pg';
import { FEATURE_TABLES } from '../database/privileges.js';
import { inTransaction } from '../database/transaction.js';
import { RECENT_POPULARITY } from '../flink/contracts.js';

/**
 * Loads per-customer moments into a temp table of the client's transaction (dropped at commit) and returns the
 * SQL test "`alias.column` is before its customer's moment, or before $1 for customers without one".
 */
export async function customerCutoffs(
  client: pg.PoolClient,
  table: string,
  cutoffs: ReadonlyMap<number, Date> = new Map(),
): Promise<(alias: string, column: string) => string> {
  await client.query(`CREATE TEMP TABLE ${table} (customer_id int PRIMARY KEY, cutoff timestamptz NOT NULL) ON COMMIT DROP`);
  const rows = [...cutoffs];
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = rows.slice(i, i + 5000);
    await client.query(`INSERT INTO ${table} SELECT * FROM unnest($1::int[], $2::timestamptz[])`, [chunk.map(([c]) => c), chunk.map(([, d]) => d)]);
  }
  await client.query(`ANALYZE ${table}`);
  return (alias, column) => `${alias}.${column} < coalesce((SELECT cutoff FROM ${table} k WHERE k.customer_id = ${alias}.customer_id), $1::timestamptz)`;
}

/** A pool on the same database whose search path puts `schema` (e.g. as-of features) before public. */
export function poolOnSchema(pool: pg.Pool, schema: string, max: number): pg.Pool {
  return new pg.Pool({ ...(pool.options as pg.PoolConfig), max, options: `-c search_path=${schema},public` });
}

/**
 * The recommender features of flink/recommendation-features.sql, computed in SQL from the history before
 * `asOf`, into a schema of their own. Offline evaluation runs the served query against it (search_path
 * puts the schema first), so `ours` sees exactly what Flink would have maintained at that moment and
 * nothing of the test period. The definitions are the Flink job's (the e2e test checks the job against
 * them): weights view 1, wishlist 2, cart 3, purchase 5; recent_score by forward decay (RECENT_POPULARITY); co-view = distinct sessions, co-purchase =
 * distinct orders; the hourly trend is the hour before `asOf`.
 *
 * The schema also shadows orders, order_items and carts with their state as of `asOf` (carts empty: their
 * past state is not recorded), so the served query's exclusions do not see the future either.
 *
 * With `cutoffs` (leave-last-out: one moment per tested customer), a customer's own rows count only before
 * their cutoff, everybody else's before `asOf`: the features of the split's train part.
 */
export async function buildFeaturesAsOf(pool: pg.Pool, schema: string, asOf: Date, options: { cutoffs?: ReadonlyMap<number, Date> } = {}): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  await inTransaction(pool, async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    const at = [asOf];
    // Per-customer cutoffs (none: everyone's is asOf).
    const before = await customerCutoffs(client, 'eval_cutoffs', options.cutoffs);
    await client.query(`CREATE TABLE ${schema}.orders AS SELECT * FROM public.orders o WHERE ${before('o', 'order_date')}`, at);
    await client.query(`CREATE TABLE ${schema}.order_items AS SELECT i.* FROM public.order_items i JOIN ${schema}.orders o ON o.order_id = i.order_id`);
    await client.query(`CREATE TABLE ${schema}.carts (LIKE public.carts)`);
    // Filled by neighbours.ts trainNeighbours from this schema's rec_customer_product (the learned signal).
    await client.query(`CREATE TABLE ${schema}.rec_model_neighbours (LIKE public.rec_model_neighbours INCLUDING ALL)`);
    await client.query(
      `CREATE TEMP TABLE eval_events ON COMMIT DROP AS
      SELECT customer_id, session_id, event_type::text AS event_type, product_id, category_id, occurred_at,
             CASE event_type WHEN 'view_product' THEN 1.0 WHEN 'add_to_wishlist' THEN 2.0 ELSE 3.0 END AS weight
      FROM public.behavior_events e
      WHERE ${before('e', 'occurred_at')} AND product_id IS NOT NULL AND event_type IN ('view_product', 'add_to_cart', 'add_to_wishlist')`,
      at,
    );
    await client.query(`CREATE TEMP TABLE eval_purchases ON COMMIT DROP AS
      SELECT o.customer_id, o.order_id, i.product_id, o.order_date AS occurred_at FROM ${schema}.order_items i JOIN ${schema}.orders o ON o.order_id = i.order_id`);
    await client.query(`CREATE TABLE ${schema}.rec_customer_product AS
      SELECT customer_id, product_id, sum(views)::bigint AS views, sum(carts)::bigint AS carts, sum(wishlists)::bigint AS wishlists,
             sum(purchases)::bigint AS purchases, max(occurred_at) AS last_at
      FROM (SELECT customer_id, product_id, (event_type = 'view_product')::int AS views, (event_type = 'add_to_cart')::int AS carts,
                   (event_type = 'add_to_wishlist')::int AS wishlists, 0 AS purchases, occurred_at FROM eval_events
            UNION ALL SELECT customer_id, product_id, 0, 0, 0, 1, occurred_at FROM eval_purchases) x
      GROUP BY customer_id, product_id`);
    await client.query(`CREATE INDEX ON ${schema}.rec_customer_product (customer_id, last_at DESC)`);
    await client.query(`CREATE TABLE ${schema}.rec_customer_category AS
      SELECT customer_id, category_id, sum(weight)::float8 AS score FROM eval_events WHERE category_id IS NOT NULL GROUP BY 1, 2`);
    await client.query(`CREATE INDEX ON ${schema}.rec_customer_category (customer_id)`);
    await client.query(`CREATE TABLE ${schema}.rec_product_stats AS
      SELECT product_id, sum(v)::bigint AS views, sum(c)::bigint AS carts, sum(w)::bigint AS wishlists, sum(p)::bigint AS purchases, sum(weight)::float8 AS score,
             -- whole seconds since the epoch, truncated towards zero as Flink's TIMESTAMPDIFF(SECOND, ...) counts them
             sum(weight * power(2.0, trunc(extract(epoch FROM occurred_at) - ${RECENT_POPULARITY.epochSeconds}) / ${RECENT_POPULARITY.halfLifeSeconds}.0))::float8 AS recent_score
      FROM (SELECT product_id, (event_type = 'view_product')::int AS v, (event_type = 'add_to_cart')::int AS c, (event_type = 'add_to_wishlist')::int AS w, 0 AS p, weight, occurred_at FROM eval_events
            UNION ALL SELECT product_id, 0, 0, 0, 1, 5.0, occurred_at FROM eval_purchases) x GROUP BY product_id`);
    await client.query(
      `CREATE TABLE ${schema}.rec_product_trend AS
      SELECT product_id, $1::timestamptz AS window_end, sum(weight)::float8 AS score FROM eval_events
      WHERE occurred_at >= $1::timestamptz - interval '1 hour' GROUP BY product_id`,
      at,
    );
    await client.query(`CREATE TABLE ${schema}.rec_cooccurrence AS
      SELECT a.product_id AS product_a, b.product_id AS product_b, 'view'::varchar AS kind, count(DISTINCT a.session_id)::bigint AS together
      FROM (SELECT DISTINCT session_id, product_id FROM eval_events WHERE event_type = 'view_product') a
      JOIN (SELECT DISTINCT session_id, product_id FROM eval_events WHERE event_type = 'view_product') b ON a.session_id = b.session_id AND a.product_id <> b.product_id
      GROUP BY 1, 2
      UNION ALL
      SELECT a.product_id, b.product_id, 'purchase', count(DISTINCT a.order_id)::bigint
      FROM eval_purchases a JOIN eval_purchases b ON a.order_id = b.order_id AND a.product_id <> b.product_id
      GROUP BY 1, 2`);
    await client.query(`CREATE INDEX ON ${schema}.rec_cooccurrence (product_a, kind, together DESC, product_b)`);
    await client.query(`CREATE TABLE ${schema}.rec_item_support AS
      SELECT product_id, 'view'::varchar AS kind, count(DISTINCT session_id)::bigint AS support FROM eval_events WHERE event_type = 'view_product' GROUP BY 1
      UNION ALL SELECT product_id, 'purchase', count(DISTINCT order_id)::bigint FROM eval_purchases GROUP BY 1`);
    await client.query(`CREATE UNIQUE INDEX ON ${schema}.rec_item_support (product_id, kind)`);
    await client.query(`CREATE INDEX ON ${schema}.rec_product_stats (score DESC)`);
    await client.query(`CREATE INDEX ON ${schema}.rec_product_stats (recent_score DESC)`);
    await client.query(`CREATE INDEX ON ${schema}.rec_product_trend (score DESC)`);
    for (const table of ['orders', 'order_items', ...FEATURE_TABLES]) await client.query(`ANALYZE ${schema}.${table}`);
    await client.query(`CREATE INDEX ON ${schema}.orders (customer_id)`);
    await client.query(`CREATE INDEX ON ${schema}.order_items (order_id)`);
  });
}

/**
 * Replaces the live feature tables with what Flink would hold as of `asOf` (computed by buildFeaturesAsOf),
 * in one transaction: for benches and tests that measure serving or training without running Flink.
 */
export async function replaceFeaturesAsOf(pool: pg.Pool, asOf: Date): Promise<void> {
  const scratch = 'rtrec_features_scratch';
  await buildFeaturesAsOf(pool, scratch, asOf);
  try {
    await inTransaction(pool, async (client) => {
      for (const table of FEATURE_TABLES) {
        const { rows } = await client.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
          [table],
        );
        const columns = rows.map((r) => r.column_name).join(', ');
        await client.query(`DELETE FROM public.${table}`);
        await client.query(`INSERT INTO public.${table} (${columns}) SELECT ${columns} FROM ${scratch}.${table}`);
      }
    });
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${scratch} CASCADE`);
  }
  for (const table of FEATURE_TABLES) await pool.query(`ANALYZE public.${table}`);
}
