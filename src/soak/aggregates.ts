import type pg from 'pg';
import { inTransaction } from '../database/transaction.js';
import { buildFeaturesAsOf } from '../recommend/features-sql.js';
import type { CreatedRow } from './wal.js';

/*
 * The Flink jobs' results recomputed in SQL over PostgreSQL: the orders and order lines the reference log saw
 * created, with the commit time PostgreSQL stamped (the event time the jobs use), are loaded into a schema of
 * their own; closed revenue windows, closed top-products windows and fraud alerts are computed there with the
 * jobs' definitions, and the feature tables are rebuilt from the whole history by features-sql.ts (the batch
 * definition the Flink features job is tested against). Each result table is then compared row by row.
 */

export const TRUTH_SCHEMA = 'rtrec_soak_truth';

export interface AggregateRules {
  revenueWindowSeconds: number;
  fraudVelocityMaxOrders: number;
  fraudHighValue: number;
  fraudBurstCount: number;
  fraudBurstWindowSeconds: number;
}

export interface AggregateCheck {
  /** Rows (windows, ranks, alerts, feature rows) compared. */
  checked: number;
  /** Rows that differ, are missing from the job's table or are in it without a reason. */
  mismatched: number;
  /** A few of the differences, for the report. */
  examples: string[];
}

export type AggregateReport = Record<'revenueWindows' | 'topProducts' | 'fraudAlerts' | 'features', AggregateCheck>;

/** Loads the reference creations into TRUTH_SCHEMA.orders / .order_items (commit time included). */
export async function loadReference(pool: pg.Pool, created: readonly CreatedRow[]): Promise<void> {
  const orders = created.filter((r) => r.table === 'orders');
  const items = created.filter((r) => r.table === 'order_items');
  await inTransaction(pool, async (db) => {
    await db.query(`DROP SCHEMA IF EXISTS ${TRUTH_SCHEMA} CASCADE`);
    await db.query(`CREATE SCHEMA ${TRUTH_SCHEMA}`);
    await db.query(`CREATE TABLE ${TRUTH_SCHEMA}.orders (order_id int PRIMARY KEY, customer_id int, total_price numeric(12, 2), committed_at timestamptz)`);
    await db.query(
      `CREATE TABLE ${TRUTH_SCHEMA}.order_items (order_item_id int PRIMARY KEY, order_id int, product_id int, quantity int, price numeric(12, 2), committed_at timestamptz)`,
    );
    const v = (r: CreatedRow, column: string) => r.values[column] ?? null;
    await db.query(`INSERT INTO ${TRUTH_SCHEMA}.orders SELECT * FROM unnest($1::int[], $2::int[], $3::numeric[], $4::timestamptz[])`, [
      orders.map((r) => v(r, 'order_id')),
      orders.map((r) => v(r, 'customer_id')),
      orders.map((r) => v(r, 'total_price')),
      orders.map((r) => r.committedAt),
    ]);
    await db.query(
      `INSERT INTO ${TRUTH_SCHEMA}.order_items SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::numeric[], $6::timestamptz[])`,
      [
        items.map((r) => v(r, 'order_item_id')),
        items.map((r) => v(r, 'order_id')),
        items.map((r) => v(r, 'product_id')),
        items.map((r) => v(r, 'quantity')),
        items.map((r) => v(r, 'price')),
        items.map((r) => r.committedAt),
      ],
    );
  });
}

/** Compares two keyed row sets: key → comparable text. */
function compare(truth: Map<string, string>, actual: Map<string, string>): AggregateCheck {
  const examples: string[] = [];
  let mismatched = 0;
  for (const [key, want] of truth) {
    const got = actual.get(key);
    if (got === want) continue;
    mismatched++;
    if (examples.length < 5) examples.push(`${key}: expected ${want}, got ${got ?? 'nothing'}`);
  }
  for (const [key, got] of actual) {
    if (truth.has(key)) continue;
    mismatched++;
    if (examples.length < 5) examples.push(`${key}: unexpected ${got}`);
  }
  return { checked: truth.size, mismatched, examples };
}

const rowsToMap = (rows: { k: string; v: string }[]) => new Map(rows.map((r) => [r.k, r.v]));

/** Closed revenue windows that start at or after `from` and end by `to`. */
export async function checkRevenue(pool: pg.Pool, rules: AggregateRules, from: Date, to: Date): Promise<AggregateCheck> {
  const w = rules.revenueWindowSeconds;
  const truth = await pool.query<{ k: string; v: string }>(
    `SELECT to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS k, sum(total_price)::text || ' in ' || count(*) AS v
     FROM (SELECT total_price, to_timestamp(floor(extract(epoch FROM date_trunc('milliseconds', committed_at)) / $1) * $1) AS window_start FROM ${TRUTH_SCHEMA}.orders) o
     WHERE window_start >= $2 AND window_start + make_interval(secs => $1) <= $3 GROUP BY window_start`,
    [w, from, to],
  );
  const actual = await pool.query<{ k: string; v: string }>(
    `SELECT to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS k, revenue::text || ' in ' || order_count AS v
     FROM revenue_stats WHERE window_seconds = $1 AND window_start >= $2 AND window_start + make_interval(secs => $1) <= $3`,
    [w, from, to],
  );
  return compare(rowsToMap(truth.rows), rowsToMap(actual.rows));
}

/** Closed 1-minute top-10 windows (over all categories by quantity and by revenue, per category by quantity). */
export async function checkTopProducts(pool: pg.Pool, from: Date, to: Date): Promise<AggregateCheck> {
  const truth = await pool.query<{ k: string; v: string }>(
    `WITH sales AS (
       SELECT date_trunc('minute', date_trunc('milliseconds', i.committed_at)) AS window_start, p.category_id, i.product_id,
              sum(i.quantity)::int AS quantity, sum(i.price * i.quantity) AS revenue
       FROM ${TRUTH_SCHEMA}.order_items i JOIN products p USING (product_id) GROUP BY 1, 2, 3),
     overall AS (SELECT window_start, product_id, sum(quantity)::int AS quantity, sum(revenue) AS revenue FROM sales GROUP BY 1, 2),
     ranked AS (
       SELECT window_start, 0 AS category_id, 'quantity' AS ranked_by, row_number() OVER (PARTITION BY window_start ORDER BY quantity DESC, product_id) AS rank, product_id, quantity, revenue FROM overall
       UNION ALL
       SELECT window_start, 0, 'revenue', row_number() OVER (PARTITION BY window_start ORDER BY revenue DESC, product_id), product_id, quantity, revenue FROM overall
       UNION ALL
       SELECT window_start, category_id, 'quantity', row_number() OVER (PARTITION BY window_start, category_id ORDER BY quantity DESC, product_id), product_id, quantity, revenue FROM sales)
     SELECT to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') || ' c' || category_id || ' ' || ranked_by || ' #' || rank AS k,
            'p' || product_id || ' q' || quantity || CASE WHEN category_id = 0 THEN ' ' || round(revenue, 2)::text ELSE '' END AS v
     FROM ranked WHERE rank <= 10 AND window_start >= $1 AND window_start + interval '1 minute' <= $2`,
    [from, to],
  );
  const actual = await pool.query<{ k: string; v: string }>(
    `SELECT to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') || ' c' || category_id || ' ' || ranked_by || ' #' || rank AS k,
            'p' || product_id || ' q' || quantity || CASE WHEN category_id = 0 THEN ' ' || round(revenue, 2)::text ELSE '' END AS v
     FROM top_products WHERE window_size = '1m' AND window_start >= $1 AND window_start + interval '1 minute' <= $2
       AND (category_id = 0 OR ranked_by = 'quantity')`,
    [from, to],
  );
  return compare(rowsToMap(truth.rows), rowsToMap(actual.rows));
}

/**
 * Fraud alerts of the orders committed in [from, to]: velocity (more than N orders by the customer within the
 * minute up to the order), high value, and bursts (the same basket — lines, quantities, products, amount — at
 * least M times within the burst window), as flink/fraud-detection.sql defines them. `from` must be at least the
 * longest look-back after the reference log began, so that every order an alert counts is in it.
 */
export async function checkFraud(pool: pg.Pool, rules: AggregateRules, from: Date, to: Date): Promise<AggregateCheck> {
  const truth = await pool.query<{ k: string; v: string }>(
    `WITH o AS (SELECT order_id, customer_id, total_price, date_trunc('milliseconds', committed_at) AS t FROM ${TRUTH_SCHEMA}.orders),
     velocity AS (SELECT order_id, t, count(*) OVER (PARTITION BY customer_id ORDER BY t RANGE BETWEEN interval '1 minute' PRECEDING AND CURRENT ROW) AS n FROM o),
     sig AS (SELECT order_id, count(*) || '/' || sum(quantity) || '/' || sum(product_id::bigint * quantity) || '/' ||
                    sum(product_id::bigint * product_id * quantity) || '/' || sum(price * quantity) AS signature
             FROM ${TRUTH_SCHEMA}.order_items GROUP BY order_id),
     -- The job counts bursts on the time of the order's lines, which it sums in 1-second windows: the end of the
     -- commit's second (window_time, its last millisecond).
     burst AS (SELECT o.order_id, o.t, count(*) OVER (PARTITION BY o.customer_id, s.signature ORDER BY date_trunc('second', o.t)
                 RANGE BETWEEN make_interval(secs => $4) PRECEDING AND CURRENT ROW) AS n FROM o JOIN sig s USING (order_id))
     SELECT 'velocity:' || order_id AS k, 'alert' AS v FROM velocity WHERE n > $3 AND t BETWEEN $1 AND $2
     UNION ALL SELECT 'high_value:' || order_id, 'alert' FROM o WHERE total_price > $5 AND t BETWEEN $1 AND $2
     UNION ALL SELECT 'burst:' || order_id, 'alert' FROM burst WHERE n >= $6 AND t BETWEEN $1 AND $2`,
    [from, to, rules.fraudVelocityMaxOrders, rules.fraudBurstWindowSeconds, rules.fraudHighValue, rules.fraudBurstCount],
  );
  const actual = await pool.query<{ k: string; v: string }>(
    `SELECT a.alert_id AS k, 'alert' AS v FROM fraud_alerts a JOIN ${TRUTH_SCHEMA}.orders o USING (order_id)
     WHERE date_trunc('milliseconds', o.committed_at) BETWEEN $1 AND $2`,
    [from, to],
  );
  return compare(rowsToMap(truth.rows), rowsToMap(actual.rows));
}

/** Feature columns compared exactly, and those compared to a relative 1e-9 (float sums in another order). */
const FEATURES: { table: string; key: string[]; exact: string[]; close: string[] }[] = [
  { table: 'rec_customer_product', key: ['customer_id', 'product_id'], exact: ['views', 'carts', 'wishlists', 'purchases'], close: [] },
  { table: 'rec_product_stats', key: ['product_id'], exact: ['views', 'carts', 'wishlists', 'purchases', 'score'], close: ['recent_score'] },
  { table: 'rec_customer_category', key: ['customer_id', 'category_id'], exact: [], close: ['score'] },
  { table: 'rec_cooccurrence', key: ['product_a', 'product_b', 'kind'], exact: ['together'], close: [] },
  { table: 'rec_item_support', key: ['product_id', 'kind'], exact: ['support'], close: [] },
];

/**
 * The recommendation feature tables against their batch definition over the whole history (as of `asOf`).
 * rec_product_trend (a sliding hour of processing) is not compared: its value depends on when it is read.
 */
export async function checkFeatures(pool: pg.Pool, asOf: Date): Promise<AggregateCheck> {
  const schema = `${TRUTH_SCHEMA}_features`;
  await buildFeaturesAsOf(pool, schema, asOf);
  const result: AggregateCheck = { checked: 0, mismatched: 0, examples: [] };
  try {
    for (const { table, key, exact, close } of FEATURES) {
      const on = key.map((k) => `t.${k} = a.${k}`).join(' AND ');
      const differs = [
        ...exact.map((c) => `t.${c} IS DISTINCT FROM a.${c}`),
        ...close.map((c) => `abs(t.${c} - a.${c}) > 1e-9 * greatest(abs(t.${c}), abs(a.${c}))`),
        `t.${key[0]} IS NULL`,
        `a.${key[0]} IS NULL`,
      ].join(' OR ');
      const { rows } = await pool.query<{ checked: string; mismatched: string; example: string | null }>(
        `SELECT count(t.${key[0]})::text AS checked, count(*) FILTER (WHERE ${differs})::text AS mismatched,
                (array_agg(concat_ws(' ', ${key.map((k) => `coalesce(t.${k}, a.${k})::text`).join(', ')}, 'expected', row(${[...exact, ...close].map((c) => `t.${c}`).join(', ') || 'NULL'})::text, 'got', row(${[...exact, ...close].map((c) => `a.${c}`).join(', ') || 'NULL'})::text)) FILTER (WHERE ${differs}))[1] AS example
         FROM ${schema}.${table} t FULL JOIN public.${table} a ON ${on}`,
      );
      result.checked += Number(rows[0]!.checked);
      result.mismatched += Number(rows[0]!.mismatched);
      if (rows[0]!.example && result.examples.length < 5) result.examples.push(`${table} ${rows[0]!.example}`);
    }
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
  return result;
}
