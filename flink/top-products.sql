-- Top products per closed tumbling window of 1 minute, 5 minutes and 1 hour, ranked by quantity and by revenue,
-- overall (category_id 0) and per category: the ${top.n} best of each, with their quantity and revenue.
-- Output: the topic ${topic.prefix}.top-products (JSON) and the table top_products (upsert on
-- window_size + window_start + category_id + ranked_by + rank). A window is emitted once, when it closes.
--
-- Event time is the commit time of the order lines in PostgreSQL (Debezium's source.ts_ms); rows of the connector's
-- initial snapshot (op = 'r') are history and are not windowed. A product's category is looked up in PostgreSQL
-- (JDBC lookup join, cached 10 minutes). Late data: the watermark trails the newest commit by ${watermark.delay};
-- later changes are dropped from their window (Flink's numLateRecordsDropped metric counts them). Each order line
-- counts once (order_items_created, include/source-order_items.sql): a change Debezium delivers twice does not raise a
-- window's quantities. Changes that do not parse go to the dead-letter topic.

SET 'table.local-time-zone' = 'UTC';

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
  'lookup.partial-cache.expire-after-write' = '10 min',
  'lookup.max-retries' = '3'
);

CREATE TABLE top_topic (
  window_size STRING,
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  category_id INT,
  ranked_by STRING,
  `rank` INT,
  product_id INT,
  quantity INT,
  revenue DECIMAL(14, 2)
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic.prefix}.top-products',
  'properties.bootstrap.servers' = '${kafka.brokers}',
  'value.format' = 'json',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'sink.delivery-guarantee' = 'at-least-once'
);

CREATE TABLE top_table (
  window_size STRING,
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  category_id INT,
  ranked_by STRING,
  `rank` INT,
  product_id INT,
  quantity INT,
  revenue DECIMAL(14, 2),
  PRIMARY KEY (window_size, window_start, category_id, ranked_by, `rank`) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = '${jdbc.url}',
  'table-name' = 'top_products',
  'username' = '${jdbc.user}',
  'password' = '${jdbc.password}',
  'sink.buffer-flush.interval' = '500ms',
  'sink.buffer-flush.max-rows' = '1000',
  'sink.max-retries' = '5'
);

CREATE TEMPORARY VIEW items AS
SELECT order_item_id, product_id, quantity, price, event_time, PROCTIME() AS proc_time
FROM order_items_created;

CREATE TEMPORARY VIEW sales AS
SELECT i.product_id, COALESCE(p.category_id, -1) AS category_id, i.quantity, i.price * i.quantity AS revenue, i.event_time
FROM items AS i
LEFT JOIN products_dim FOR SYSTEM_TIME AS OF i.proc_time AS p ON i.product_id = p.product_id;

CREATE TEMPORARY VIEW per_product_1m AS
SELECT window_start, window_end, window_time, product_id, category_id, CAST(SUM(quantity) AS INT) AS quantity, CAST(SUM(revenue) AS DECIMAL(14, 2)) AS revenue
FROM TABLE(TUMBLE(TABLE sales, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, window_time, product_id, category_id;

CREATE TEMPORARY VIEW per_product_5m AS
SELECT window_start, window_end, window_time, product_id, category_id, CAST(SUM(quantity) AS INT) AS quantity, CAST(SUM(revenue) AS DECIMAL(14, 2)) AS revenue
FROM TABLE(TUMBLE(TABLE sales, DESCRIPTOR(event_time), INTERVAL '5' MINUTE))
GROUP BY window_start, window_end, window_time, product_id, category_id;

CREATE TEMPORARY VIEW per_product_1h AS
SELECT window_start, window_end, window_time, product_id, category_id, CAST(SUM(quantity) AS INT) AS quantity, CAST(SUM(revenue) AS DECIMAL(14, 2)) AS revenue
FROM TABLE(TUMBLE(TABLE sales, DESCRIPTOR(event_time), INTERVAL '1' HOUR))
GROUP BY window_start, window_end, window_time, product_id, category_id;

-- Window Top-N: one ranking per window size, measure and scope (a ranking over a UNION of window sizes would
-- not be recognised as a window Top-N and would emit updates). Ties are broken by product id, so the ranking is
-- deterministic and equal to the same query in SQL.
CREATE TEMPORARY VIEW ranked AS
SELECT '1m' AS window_size, window_start, window_end, 0 AS category_id, 'quantity' AS ranked_by, CAST(rn AS INT) AS `rank`, product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY quantity DESC, product_id) AS rn FROM per_product_1m) WHERE rn <= ${top.n}
UNION ALL
SELECT '1m', window_start, window_end, 0, 'revenue', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY revenue DESC, product_id) AS rn FROM per_product_1m) WHERE rn <= ${top.n}
UNION ALL
SELECT '1m', window_start, window_end, category_id, 'quantity', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, category_id ORDER BY quantity DESC, product_id) AS rn FROM per_product_1m) WHERE rn <= ${top.n}
UNION ALL
SELECT '1m', window_start, window_end, category_id, 'revenue', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, category_id ORDER BY revenue DESC, product_id) AS rn FROM per_product_1m) WHERE rn <= ${top.n}
UNION ALL
SELECT '5m', window_start, window_end, 0, 'quantity', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY quantity DESC, product_id) AS rn FROM per_product_5m) WHERE rn <= ${top.n}
UNION ALL
SELECT '5m', window_start, window_end, 0, 'revenue', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY revenue DESC, product_id) AS rn FROM per_product_5m) WHERE rn <= ${top.n}
UNION ALL
SELECT '5m', window_start, window_end, category_id, 'quantity', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, category_id ORDER BY quantity DESC, product_id) AS rn FROM per_product_5m) WHERE rn <= ${top.n}
UNION ALL
SELECT '5m', window_start, window_end, category_id, 'revenue', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, category_id ORDER BY revenue DESC, product_id) AS rn FROM per_product_5m) WHERE rn <= ${top.n}
UNION ALL
SELECT '1h', window_start, window_end, 0, 'quantity', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY quantity DESC, product_id) AS rn FROM per_product_1h) WHERE rn <= ${top.n}
UNION ALL
SELECT '1h', window_start, window_end, 0, 'revenue', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY revenue DESC, product_id) AS rn FROM per_product_1h) WHERE rn <= ${top.n}
UNION ALL
SELECT '1h', window_start, window_end, category_id, 'quantity', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, category_id ORDER BY quantity DESC, product_id) AS rn FROM per_product_1h) WHERE rn <= ${top.n}
UNION ALL
SELECT '1h', window_start, window_end, category_id, 'revenue', CAST(rn AS INT), product_id, quantity, revenue FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, category_id ORDER BY revenue DESC, product_id) AS rn FROM per_product_1h) WHERE rn <= ${top.n};

EXECUTE STATEMENT SET
BEGIN
INSERT INTO top_topic SELECT * FROM ranked;
INSERT INTO top_table SELECT * FROM ranked;
INSERT INTO dead_letters SELECT * FROM order_items_poison;
END;
