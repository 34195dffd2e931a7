import type pg from 'pg';
import { type RecommendationUptake, withRates } from './stats.js';

/*
 * A run's recommendation uptake counted from the behaviour events alone (the record any process can read,
 * whichever process ran the simulation): impressions and clicks carry the run id in their context; a
 * conversion is a paid place_order later in the same session whose items hold a product clicked before it.
 * The run's time window bounds every scan to the occurred_at index.
 */
const UPTAKE_SQL = `
WITH shown AS (
  SELECT event_type, session_id, product_id, occurred_at, context->>'listId' AS list_id
  FROM behavior_events
  WHERE event_type IN ('recommendation_impression', 'recommendation_click') AND occurred_at >= $2 AND occurred_at <= $3 AND context->>'runId' = $1
),
clicks AS (
  SELECT session_id, product_id, min(occurred_at) AS at FROM shown WHERE event_type = 'recommendation_click' GROUP BY 1, 2
),
ordered AS (
  SELECT e.event_id, e.session_id, e.occurred_at, (item->>'productId')::int AS product_id
  FROM behavior_events e CROSS JOIN LATERAL jsonb_array_elements(e.context->'items') AS item
  WHERE e.event_type = 'place_order' AND e.occurred_at >= $2 AND e.occurred_at <= $3 AND e.context->>'paymentStatus' = 'completed'
    AND e.session_id IN (SELECT session_id FROM clicks)
),
converted AS (
  SELECT c.session_id, c.product_id, o.event_id FROM clicks c JOIN ordered o ON o.session_id = c.session_id AND o.product_id = c.product_id AND o.occurred_at >= c.at
)
SELECT (SELECT count(DISTINCT list_id) FROM shown WHERE event_type = 'recommendation_impression')::int AS lists,
       (SELECT count(*) FROM shown WHERE event_type = 'recommendation_impression')::int AS impressions,
       (SELECT count(*) FROM shown WHERE event_type = 'recommendation_click')::int AS clicks,
       (SELECT count(DISTINCT event_id) FROM converted)::int AS orders,
       (SELECT count(*) FROM (SELECT DISTINCT session_id, product_id FROM converted) b)::int AS bought`;

/** Uptake of the recommendations a simulation run showed, from the recorded events. */
export async function uptakeOfRun(
  pool: pg.Pool,
  run: { id: string; startedAt: Date; finishedAt: Date | null },
  recommender: string,
): Promise<RecommendationUptake> {
  const { rows } = await pool.query<{ lists: number; impressions: number; clicks: number; orders: number; bought: number }>(UPTAKE_SQL, [
    run.id,
    run.startedAt,
    run.finishedAt ?? new Date(),
  ]);
  const r = rows[0]!;
  return withRates({
    recommender,
    lists: r.lists,
    impressions: r.impressions,
    clicks: r.clicks,
    ordersWithClickedProduct: r.orders,
    clickedProductsBought: r.bought,
  });
}
