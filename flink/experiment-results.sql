-- Live per-variant results of the online experiments (src/experiments), upserted into experiment_results keyed by
-- experiment and variant; the definitions are those of src/experiments/results.ts (recountResults computes the same
-- in SQL, and the tests compare the two):
--   impressions, clicks  recommendation_impression / recommendation_click events whose context names the arm
--   carts                (session, product) pairs clicked from the variant's lists and added to the cart at or after
--                        the first click, in that session
--   purchases, revenue   (session, product) pairs clicked and bought in a paid order (place_order with payment
--                        status completed) placed at or after the first click in that session; revenue = price ×
--                        quantity of those order lines
--   updated_at           the time of the newest impression or click counted
-- Every event and order line counts once (the *_once views), history included. A trigger on experiment_results
-- notifies the API (experimentUpdated) after each write; the sink flushes every 200 ms, so results are fresh within a
-- second of an event reaching Kafka. The joins keep their state for the job's life (one row per clicked product and
-- session, add-to-cart, paid order and order line). Changes that do not parse go to the dead-letter topic.

SET 'table.local-time-zone' = 'UTC';
SET 'table.optimizer.reuse-optimize-block-with-digest-enabled' = 'true';
SET 'table.exec.mini-batch.enabled' = 'true';
SET 'table.exec.mini-batch.allow-latency' = '200 ms';
SET 'table.exec.mini-batch.size' = '5000';

-- @include source-behavior_events
-- @include source-order_items
-- @include dead-letters

CREATE TABLE results_table (
  experiment_id INT,
  variant_id INT,
  impressions BIGINT,
  clicks BIGINT,
  carts BIGINT,
  purchases BIGINT,
  revenue DECIMAL(14, 2),
  updated_at TIMESTAMP(3),
  PRIMARY KEY (experiment_id, variant_id) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = '${jdbc.url}',
  'table-name' = 'experiment_results',
  'username' = '${jdbc.user}',
  'password' = '${jdbc.password}',
  'sink.buffer-flush.interval' = '200ms',
  'sink.buffer-flush.max-rows' = '1000',
  'sink.max-retries' = '5'
);

-- Each event of the four kinds this job counts, once: like behavior_events_once, but the filter comes before the
-- deduplication, so views (most of the traffic) keep no state here and the planner's copies of this step (one per
-- use below) each see only these events. Equivalent, because every image of an event id is the same row.
CREATE TEMPORARY VIEW experiment_events_once AS
SELECT event_id, session_id, event_type, product_id, occurred_at, order_id, experiment_id, variant_id, payment_status
FROM (
  SELECT event_id, session_id, event_type, product_id, occurred_at, order_id, experiment_id, variant_id, payment_status,
         ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc_time ASC) AS n
  FROM behavior_events_checked
  WHERE op IN ('c', 'r') AND problem IS NULL
    AND event_type IN ('recommendation_impression', 'recommendation_click', 'add_to_cart', 'place_order')
)
WHERE n = 1;

CREATE TEMPORARY VIEW arm_events AS
SELECT experiment_id, variant_id, event_type, session_id, product_id, occurred_at
FROM experiment_events_once
WHERE experiment_id IS NOT NULL AND variant_id IS NOT NULL AND event_type IN ('recommendation_impression', 'recommendation_click');

CREATE TEMPORARY VIEW shown AS
SELECT experiment_id, variant_id,
       SUM(CAST(CASE event_type WHEN 'recommendation_impression' THEN 1 ELSE 0 END AS BIGINT)) AS impressions,
       SUM(CAST(CASE event_type WHEN 'recommendation_click' THEN 1 ELSE 0 END AS BIGINT)) AS clicks,
       CAST(MAX(occurred_at) AS TIMESTAMP(3)) AS updated_at
FROM arm_events
GROUP BY experiment_id, variant_id;

-- Each clicked product of a session once, at its first click.
CREATE TEMPORARY VIEW clicked AS
SELECT experiment_id, variant_id, session_id, product_id, MIN(occurred_at) AS clicked_at
FROM arm_events
WHERE event_type = 'recommendation_click' AND product_id IS NOT NULL
GROUP BY experiment_id, variant_id, session_id, product_id;

CREATE TEMPORARY VIEW cart_adds AS
SELECT session_id, product_id, occurred_at FROM experiment_events_once WHERE event_type = 'add_to_cart' AND product_id IS NOT NULL;

CREATE TEMPORARY VIEW carted AS
SELECT c.experiment_id, c.variant_id, c.session_id, c.product_id
FROM clicked AS c JOIN cart_adds AS a ON a.session_id = c.session_id AND a.product_id = c.product_id
WHERE a.occurred_at >= c.clicked_at
GROUP BY c.experiment_id, c.variant_id, c.session_id, c.product_id;

CREATE TEMPORARY VIEW cart_counts AS
SELECT experiment_id, variant_id, COUNT(*) AS carts FROM carted GROUP BY experiment_id, variant_id;

CREATE TEMPORARY VIEW paid_orders AS
SELECT session_id, order_id, occurred_at AS ordered_at
FROM experiment_events_once
WHERE event_type = 'place_order' AND payment_status = 'completed' AND order_id IS NOT NULL;

CREATE TEMPORARY VIEW bought AS
SELECT c.experiment_id, c.variant_id, c.session_id, c.product_id, i.price * i.quantity AS revenue
FROM clicked AS c
JOIN paid_orders AS o ON o.session_id = c.session_id
JOIN order_items_once AS i ON i.order_id = o.order_id AND i.product_id = c.product_id
WHERE o.ordered_at >= c.clicked_at;

CREATE TEMPORARY VIEW buy_counts AS
SELECT experiment_id, variant_id,
       COUNT(DISTINCT CONCAT(session_id, ':', CAST(product_id AS STRING))) AS purchases,
       CAST(SUM(revenue) AS DECIMAL(14, 2)) AS revenue
FROM bought
GROUP BY experiment_id, variant_id;

EXECUTE STATEMENT SET
BEGIN
INSERT INTO results_table
SELECT s.experiment_id, s.variant_id, s.impressions, s.clicks, COALESCE(k.carts, CAST(0 AS BIGINT)), COALESCE(b.purchases, CAST(0 AS BIGINT)),
       COALESCE(b.revenue, CAST(0 AS DECIMAL(14, 2))), s.updated_at
FROM shown AS s
LEFT JOIN cart_counts AS k ON k.experiment_id = s.experiment_id AND k.variant_id = s.variant_id
LEFT JOIN buy_counts AS b ON b.experiment_id = s.experiment_id AND b.variant_id = s.variant_id;

INSERT INTO dead_letters SELECT * FROM behavior_events_poison;
INSERT INTO dead_letters SELECT * FROM order_items_poison;
END;
