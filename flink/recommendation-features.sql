-- Features of the recommender, maintained continuously from the shop's change events and written to PostgreSQL
-- with idempotent upserts (each table keyed like its aggregate, so a restart from a checkpoint rewrites rows):
--   rec_customer_product   each customer's interactions per product: views, carts, wishlists, purchases, last time
--   rec_customer_category  each customer's affinity to each category (weighted interactions)
--   rec_product_stats      all-time popularity per product (views, carts, wishlists, purchases, weighted score) and
--                          recent_score, the recency-weighted score by forward decay: Σ weight · 2^((t − epoch) / half-life)
--                          with epoch ${popularity.epoch_seconds} s and half-life ${popularity.half_life_seconds} s
--                          (src/flink/contracts.ts RECENT_POPULARITY); order-independent, so history counts too
--   rec_product_trend      popularity of live interactions over a sliding hour (1-minute slide): "popular this hour"
--   rec_cooccurrence       item-to-item co-occurrence: co-view (same session) and co-purchase (same order), counted
--                          once per session / order; rec_item_support holds each item's own count, so the API
--                          normalises (cosine: n(a,b) / sqrt(n(a) n(b))) instead of ranking by raw counts.
-- Interaction weights: view 1, wishlist 2, cart 3, purchase 5 (per order line).
-- Rows of the connector's snapshot (history) count like live changes: features cover the whole history. Each event,
-- order and order line counts once (the *_once views of include/source-*.sql keep the first image of each id), so a
-- change Debezium delivers twice, or a second snapshot of the same rows, changes no feature; that costs state of one
-- id per row, kept for the job's life (heap state backend: plan ~100 bytes per event, or use RocksDB for large shops).
-- Changes that do not parse go to the dead-letter topic. Event
-- time is when the customer acted (behavior_events.occurred_at, orders.order_date); the hourly trend window
-- drops changes that arrive more than ${watermark.delay} s after the watermark (late data).

SET 'table.local-time-zone' = 'UTC';
SET 'table.optimizer.reuse-optimize-block-with-digest-enabled' = 'true';
-- Mini-batches: the aggregations fold what arrived within 200 ms per key before emitting, so a burst of changes to one
-- product or customer becomes one upsert instead of one per change (the JDBC sinks were what fell behind at ×60 replay).
SET 'table.exec.mini-batch.enabled' = 'true';
SET 'table.exec.mini-batch.allow-latency' = '200 ms';
SET 'table.exec.mini-batch.size' = '5000';

-- @include source-behavior_events
-- @include source-orders
-- @include source-order_items
-- @include dead-letters

CREATE TABLE products_dim (
  product_id INT,
  category_id INT,
  PRIMARY KEY (product_id) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = '${jdbc.url}',
  'table-name' = 'products',
  'username' = '${jdbc.user}',
  'password' = '${jdbc.password}',
  'lookup.cache' = 'PARTIAL',
  'lookup.partial-cache.max-rows' = '100000',
  'lookup.partial-cache.expire-after-write' = '10 min'
);

CREATE TABLE rec_customer_product (
  customer_id INT, product_id INT, `views` BIGINT, carts BIGINT, wishlists BIGINT, purchases BIGINT, last_at TIMESTAMP(3),
  PRIMARY KEY (customer_id, product_id) NOT ENFORCED
) WITH ('connector' = 'jdbc', 'url' = '${jdbc.url}', 'table-name' = 'rec_customer_product', 'username' = '${jdbc.user}', 'password' = '${jdbc.password}',
        'sink.buffer-flush.interval' = '200ms', 'sink.buffer-flush.max-rows' = '2000', 'sink.max-retries' = '5');

CREATE TABLE rec_customer_category (
  customer_id INT, category_id INT, score DOUBLE,
  PRIMARY KEY (customer_id, category_id) NOT ENFORCED
) WITH ('connector' = 'jdbc', 'url' = '${jdbc.url}', 'table-name' = 'rec_customer_category', 'username' = '${jdbc.user}', 'password' = '${jdbc.password}',
        'sink.buffer-flush.interval' = '200ms', 'sink.buffer-flush.max-rows' = '2000', 'sink.max-retries' = '5');

CREATE TABLE rec_product_stats (
  product_id INT, `views` BIGINT, carts BIGINT, wishlists BIGINT, purchases BIGINT, score DOUBLE, recent_score DOUBLE,
  PRIMARY KEY (product_id) NOT ENFORCED
) WITH ('connector' = 'jdbc', 'url' = '${jdbc.url}', 'table-name' = 'rec_product_stats', 'username' = '${jdbc.user}', 'password' = '${jdbc.password}',
        'sink.buffer-flush.interval' = '200ms', 'sink.buffer-flush.max-rows' = '2000', 'sink.max-retries' = '5');

CREATE TABLE rec_product_trend (
  product_id INT, window_end TIMESTAMP(3), score DOUBLE,
  PRIMARY KEY (product_id) NOT ENFORCED
) WITH ('connector' = 'jdbc', 'url' = '${jdbc.url}', 'table-name' = 'rec_product_trend', 'username' = '${jdbc.user}', 'password' = '${jdbc.password}',
        'sink.buffer-flush.interval' = '200ms', 'sink.buffer-flush.max-rows' = '2000', 'sink.max-retries' = '5');

CREATE TABLE rec_cooccurrence (
  product_a INT, product_b INT, kind STRING, together BIGINT,
  PRIMARY KEY (product_a, product_b, kind) NOT ENFORCED
) WITH ('connector' = 'jdbc', 'url' = '${jdbc.url}', 'table-name' = 'rec_cooccurrence', 'username' = '${jdbc.user}', 'password' = '${jdbc.password}',
        'sink.buffer-flush.interval' = '200ms', 'sink.buffer-flush.max-rows' = '2000', 'sink.max-retries' = '5');

CREATE TABLE rec_item_support (
  product_id INT, kind STRING, support BIGINT,
  PRIMARY KEY (product_id, kind) NOT ENFORCED
) WITH ('connector' = 'jdbc', 'url' = '${jdbc.url}', 'table-name' = 'rec_item_support', 'username' = '${jdbc.user}', 'password' = '${jdbc.password}',
        'sink.buffer-flush.interval' = '200ms', 'sink.buffer-flush.max-rows' = '2000', 'sink.max-retries' = '5');

CREATE TEMPORARY VIEW product_events AS
SELECT customer_id, session_id, event_type, product_id, category_id, occurred_at
FROM behavior_events_once
WHERE product_id IS NOT NULL AND event_type IN ('view_product', 'add_to_cart', 'add_to_wishlist');

CREATE TEMPORARY VIEW purchases AS
SELECT /*+ STATE_TTL('o' = '1h', 'i' = '1h') */ o.customer_id AS customer_id, o.order_id AS order_id,
       i.product_id AS product_id, i.quantity AS quantity, o.order_date AS occurred_at
FROM order_items_once AS i
JOIN orders_once AS o ON i.order_id = o.order_id;

CREATE TEMPORARY VIEW product_events_weighted AS
SELECT customer_id, CAST(category_id AS INT) AS category_id,
       CASE event_type WHEN 'view_product' THEN 1.0 WHEN 'add_to_wishlist' THEN 2.0 ELSE 3.0 END AS weight
FROM product_events
WHERE category_id IS NOT NULL;

-- Live interactions only (op = 'c'): the history of the snapshot is not "this hour".
CREATE TEMPORARY VIEW timed_interactions AS
SELECT product_id,
       CASE event_type WHEN 'view_product' THEN 1.0 WHEN 'add_to_wishlist' THEN 2.0 ELSE 3.0 END AS weight,
       event_time
FROM behavior_events_created
WHERE product_id IS NOT NULL AND event_type IN ('view_product', 'add_to_cart', 'add_to_wishlist');

CREATE TEMPORARY VIEW interactions AS
SELECT customer_id, product_id, CAST(category_id AS INT) AS category_id,
       CASE event_type WHEN 'view_product' THEN 1 ELSE 0 END AS `views`,
       CASE event_type WHEN 'add_to_cart' THEN 1 ELSE 0 END AS carts,
       CASE event_type WHEN 'add_to_wishlist' THEN 1 ELSE 0 END AS wishlists,
       0 AS purchases,
       CASE event_type WHEN 'view_product' THEN 1.0 WHEN 'add_to_wishlist' THEN 2.0 ELSE 3.0 END AS weight,
       occurred_at
FROM product_events
UNION ALL
SELECT customer_id, product_id, CAST(NULL AS INT), 0, 0, 0, 1, 5.0, occurred_at
FROM purchases;

EXECUTE STATEMENT SET
BEGIN
INSERT INTO rec_customer_product
SELECT customer_id, product_id, SUM(CAST(`views` AS BIGINT)), SUM(CAST(carts AS BIGINT)), SUM(CAST(wishlists AS BIGINT)), SUM(CAST(purchases AS BIGINT)),
       CAST(MAX(occurred_at) AS TIMESTAMP(3))
FROM interactions GROUP BY customer_id, product_id;

INSERT INTO rec_customer_category
SELECT customer_id, category_id, SUM(weight)
FROM product_events_weighted GROUP BY customer_id, category_id;

INSERT INTO rec_product_stats
SELECT product_id, SUM(CAST(`views` AS BIGINT)), SUM(CAST(carts AS BIGINT)), SUM(CAST(wishlists AS BIGINT)), SUM(CAST(purchases AS BIGINT)), SUM(weight),
       SUM(weight * POWER(2.0, TIMESTAMPDIFF(SECOND, TO_TIMESTAMP_LTZ(${popularity.epoch_seconds}, 0), occurred_at) / ${popularity.half_life_seconds}.0))
FROM interactions GROUP BY product_id;

INSERT INTO rec_product_trend
SELECT product_id, window_end, SUM(weight)
FROM TABLE(HOP(TABLE timed_interactions, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '1' HOUR))
GROUP BY product_id, window_start, window_end;

INSERT INTO rec_cooccurrence
SELECT /*+ STATE_TTL('a' = '2h', 'b' = '2h') */ a.product_id, b.product_id, 'view', COUNT(DISTINCT a.session_id)
FROM product_events AS a JOIN product_events AS b ON a.session_id = b.session_id AND a.product_id <> b.product_id
WHERE a.event_type = 'view_product' AND b.event_type = 'view_product'
GROUP BY a.product_id, b.product_id;

INSERT INTO rec_cooccurrence
SELECT /*+ STATE_TTL('a' = '1h', 'b' = '1h') */ a.product_id, b.product_id, 'purchase', COUNT(DISTINCT a.order_id)
FROM purchases AS a JOIN purchases AS b ON a.order_id = b.order_id AND a.product_id <> b.product_id
GROUP BY a.product_id, b.product_id;

INSERT INTO rec_item_support
SELECT product_id, 'view', COUNT(DISTINCT session_id) FROM product_events WHERE event_type = 'view_product' GROUP BY product_id;

INSERT INTO rec_item_support
SELECT product_id, 'purchase', COUNT(DISTINCT order_id) FROM purchases GROUP BY product_id;

INSERT INTO dead_letters SELECT * FROM behavior_events_poison;
INSERT INTO dead_letters SELECT * FROM orders_poison;
INSERT INTO dead_letters SELECT * FROM order_items_poison;
END;
