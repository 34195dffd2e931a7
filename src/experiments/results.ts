import type pg from 'pg';
import { probabilityToBeatControl, WIN_PROBABILITY } from './statistics.js';

/*
 * Per-variant results. The counts are those the Flink job flink/experiment-results.sql keeps live in
 * experiment_results; `recountResults` computes the same counts from the behaviour events in SQL (the tests
 * compare the two, and the benches use it where no Flink runs). Definitions, per variant of an experiment:
 *   impressions  recommendation_impression events whose context names the experiment and variant
 *   clicks       recommendation_click events likewise
 *   carts        (session, product) pairs clicked from the variant's lists and added to the cart later in that session
 *   purchases    (session, product) pairs clicked and then bought in a paid order (place_order, payment completed)
 *                of the same session
 *   revenue      price × quantity of the order lines of those purchases
 */

export interface VariantCounts {
  variantId: number;
  impressions: number;
  clicks: number;
  carts: number;
  purchases: number;
  /** Money as text with two decimals. */
  revenue: string;
}

export interface VariantResult extends VariantCounts {
  name: string;
  position: number;
  recommender: string;
  params: unknown;
  weight: number;
  /** clicks / impressions (0 without impressions). */
  ctr: number;
  /** carts / clicks. */
  cartRate: number;
  /** purchases / clicks: how often a click on a recommended product ends in buying it. */
  conversionRate: number;
  /** revenue / impressions × 1000. */
  revenuePerMille: number;
  /** P(CTR of this variant > CTR of the control); null for the control itself. */
  probabilityToBeatControl: number | null;
  /** probabilityToBeatControl ≥ WIN_PROBABILITY. */
  winner: boolean;
}

const RECOUNT_SQL = `
WITH shown AS (
  SELECT event_type, session_id, product_id, occurred_at, (context->>'variantId')::int AS variant_id
  FROM behavior_events
  WHERE event_type IN ('recommendation_impression', 'recommendation_click') AND context->>'experimentId' = $1::int::text
),
clicks AS (
  SELECT variant_id, session_id, product_id, min(occurred_at) AS at FROM shown WHERE event_type = 'recommendation_click' GROUP BY 1, 2, 3
),
carted AS (
  SELECT DISTINCT c.variant_id, c.session_id, c.product_id
  FROM clicks c JOIN behavior_events e ON e.product_id = c.product_id AND e.session_id = c.session_id AND e.event_type = 'add_to_cart' AND e.occurred_at >= c.at
),
bought AS (
  SELECT c.variant_id, c.session_id, c.product_id, oi.price * oi.quantity AS revenue
  FROM clicks c
  JOIN behavior_events e ON e.session_id = c.session_id AND e.event_type = 'place_order' AND e.occurred_at >= c.at AND e.context->>'paymentStatus' = 'completed'
  JOIN order_items oi ON oi.order_id = e.order_id AND oi.product_id = c.product_id
)
SELECT v.variant_id,
       (SELECT count(*) FROM shown s WHERE s.variant_id = v.variant_id AND s.event_type = 'recommendation_impression')::int AS impressions,
       (SELECT count(*) FROM shown s WHERE s.variant_id = v.variant_id AND s.event_type = 'recommendation_click')::int AS clicks,
       (SELECT count(*) FROM carted c WHERE c.variant_id = v.variant_id)::int AS carts,
       (SELECT count(*) FROM (SELECT DISTINCT session_id, product_id FROM bought b WHERE b.variant_id = v.variant_id) x)::int AS purchases,
       (SELECT coalesce(sum(revenue), 0) FROM bought b WHERE b.variant_id = v.variant_id)::numeric(14, 2)::text AS revenue
FROM experiment_variants v WHERE v.experiment_id = $1::int
ORDER BY v.position`;

/** The per-variant counts of an experiment recomputed from the behaviour events (the Flink job's definition). */
export async function recountResults(pool: pg.Pool, experimentId: number): Promise<VariantCounts[]> {
  const { rows } = await pool.query<{ variant_id: number; impressions: number; clicks: number; carts: number; purchases: number; revenue: string }>(
    RECOUNT_SQL,
    [experimentId],
  );
  return rows.map((r) => ({
    variantId: r.variant_id,
    impressions: r.impressions,
    clicks: r.clicks,
    carts: r.carts,
    purchases: r.purchases,
    revenue: r.revenue,
  }));
}

/** The counts the Flink job wrote (experiment_results), zero for variants it has not seen yet. */
export async function liveCounts(pool: pg.Pool, experimentId: number): Promise<VariantCounts[]> {
  const { rows } = await pool.query<{ variant_id: number; impressions: string; clicks: string; carts: string; purchases: string; revenue: string }>({
    name: 'rtrec-experiment-results',
    text: `SELECT v.variant_id, coalesce(r.impressions, 0) AS impressions, coalesce(r.clicks, 0) AS clicks, coalesce(r.carts, 0) AS carts,
                  coalesce(r.purchases, 0) AS purchases, coalesce(r.revenue, 0)::numeric(14, 2)::text AS revenue
           FROM experiment_variants v LEFT JOIN experiment_results r ON r.experiment_id = v.experiment_id AND r.variant_id = v.variant_id
           WHERE v.experiment_id = $1 ORDER BY v.position`,
    values: [experimentId],
  });
  return rows.map((r) => ({
    variantId: r.variant_id,
    impressions: Number(r.impressions),
    clicks: Number(r.clicks),
    carts: Number(r.carts),
    purchases: Number(r.purchases),
    revenue: r.revenue,
  }));
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);

/** Rates and the confidence against the control (the variant at position 0) for each variant's counts. */
export function withStatistics(
  variants: readonly { variantId: number; name: string; position: number; recommender: string; params: unknown; weight: number }[],
  counts: readonly VariantCounts[],
): VariantResult[] {
  const byId = new Map(counts.map((c) => [c.variantId, c]));
  const zero = (variantId: number): VariantCounts => ({ variantId, impressions: 0, clicks: 0, carts: 0, purchases: 0, revenue: '0.00' });
  const sorted = [...variants].sort((a, b) => a.position - b.position);
  const control = byId.get(sorted[0]!.variantId) ?? zero(sorted[0]!.variantId);
  return sorted.map((v) => {
    const c = byId.get(v.variantId) ?? zero(v.variantId);
    const probability = v.position === sorted[0]!.position ? null : probabilityToBeatControl(control, c);
    return {
      ...v,
      ...c,
      ctr: ratio(c.clicks, c.impressions),
      cartRate: ratio(c.carts, c.clicks),
      conversionRate: ratio(c.purchases, c.clicks),
      revenuePerMille: ratio(Number(c.revenue) * 1000, c.impressions),
      probabilityToBeatControl: probability,
      winner: probability !== null && probability >= WIN_PROBABILITY,
    };
  });
}
