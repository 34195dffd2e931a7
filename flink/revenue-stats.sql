-- Revenue statistics per tumbling window of ${revenue.window_seconds} s: revenue, order count, average order value and
-- the change against the previous window (0 revenue for windows without orders; NULL for the first window).
-- Output: the topic ${topic.prefix}.revenue-stats (JSON, key window_start) and the table revenue_stats
-- (upsert on window_seconds + window_start). A window is emitted once, when the watermark passes its end.
--
-- Event time is the commit time of the order's creation in PostgreSQL (Debezium's source.ts_ms); rows of the
-- connector's initial snapshot (op = 'r') are history and are not windowed. Revenue counts every order placed
-- (gross: later cancellations or failed payments do not change a closed window), each order once: Debezium may
-- deliver a change twice (after a Kafka Connect crash), and orders_created (include/source-orders.sql) collapses a
-- re-delivered creation, so a replay never changes a window. Changes that do not parse go to the dead-letter topic.
-- Late data: the watermark trails the newest commit by ${watermark.delay}; later changes are dropped from
-- their window (Flink's numLateRecordsDropped metric counts them).

SET 'table.local-time-zone' = 'UTC';

-- @include source-orders
-- @include dead-letters

CREATE TABLE revenue_topic (
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  window_seconds INT,
  revenue DECIMAL(14, 2),
  order_count INT,
  avg_order_value DECIMAL(12, 2),
  previous_revenue DECIMAL(14, 2),
  revenue_change DECIMAL(14, 2),
  revenue_change_pct DOUBLE
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic.prefix}.revenue-stats',
  'properties.bootstrap.servers' = '${kafka.brokers}',
  'key.format' = 'json',
  'key.fields' = 'window_start',
  'value.format' = 'json',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'sink.delivery-guarantee' = 'at-least-once'
);

CREATE TABLE revenue_table (
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  window_seconds INT,
  revenue DECIMAL(14, 2),
  order_count INT,
  avg_order_value DECIMAL(12, 2),
  previous_revenue DECIMAL(14, 2),
  revenue_change DECIMAL(14, 2),
  revenue_change_pct DOUBLE,
  PRIMARY KEY (window_seconds, window_start) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = '${jdbc.url}',
  'table-name' = 'revenue_stats',
  'username' = '${jdbc.user}',
  'password' = '${jdbc.password}',
  'sink.buffer-flush.interval' = '200ms',
  'sink.buffer-flush.max-rows' = '500',
  'sink.max-retries' = '5'
);

CREATE TEMPORARY VIEW windows AS
SELECT window_start, window_end, window_time,
       CAST(SUM(amount) AS DECIMAL(14, 2)) AS revenue,
       CAST(COUNT(*) AS INT) AS order_count
FROM TABLE(TUMBLE(TABLE orders_created, DESCRIPTOR(event_time), INTERVAL '${revenue.window}' DAY TO SECOND))
GROUP BY window_start, window_end, window_time;

CREATE TEMPORARY VIEW with_previous AS
SELECT window_start, window_end, revenue, order_count,
       CASE
         WHEN LAG(window_end) OVER w IS NULL THEN CAST(NULL AS DECIMAL(14, 2))
         WHEN LAG(window_end) OVER w = window_start THEN LAG(revenue) OVER w
         ELSE CAST(0 AS DECIMAL(14, 2))
       END AS previous_revenue
FROM windows
WINDOW w AS (ORDER BY window_time);

CREATE TEMPORARY VIEW stats AS
SELECT window_start, window_end, ${revenue.window_seconds} AS window_seconds, revenue, order_count,
       CAST(revenue / order_count AS DECIMAL(12, 2)) AS avg_order_value,
       previous_revenue,
       CAST(revenue - previous_revenue AS DECIMAL(14, 2)) AS revenue_change,
       CASE WHEN previous_revenue > 0 THEN CAST((revenue - previous_revenue) * 100 / previous_revenue AS DOUBLE) END AS revenue_change_pct
FROM with_previous;

EXECUTE STATEMENT SET
BEGIN
INSERT INTO revenue_topic SELECT * FROM stats;
INSERT INTO revenue_table SELECT * FROM stats;
INSERT INTO dead_letters SELECT * FROM orders_poison;
END;
