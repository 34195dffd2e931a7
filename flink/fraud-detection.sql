-- Fraud detection on the orders placed in the shop (Debezium change events of orders and order_items).
--   velocity   : more than ${fraud.velocity.max_orders} orders by one customer within one minute
--   high_value : an order whose total is above ${fraud.high_value}
--   burst      : ${fraud.burst.count} or more orders by one customer with the same items, quantities and amount within
--                ${fraud.burst.window_seconds} s (repeated submissions, scripted checkouts)
-- Output: the topic ${topic.prefix}.fraud-alerts (JSON, key alert_id) and the table fraud_alerts (upsert on alert_id).
--
-- Event time is the commit time of the change in PostgreSQL (source.ts_ms of the Debezium envelope). Only
-- creations (op = 'c') are events: rows read by the connector's initial snapshot (op = 'r') are history.
-- Late data: the watermark trails the newest commit by ${watermark.delay}; a change that arrives later than that
-- is dropped by the window and OVER operators (Flink's numLateRecordsDropped metric counts it).
-- Each order and order line counts once (orders_created, order_items_created in include/): a change Debezium delivers
-- twice cannot raise a count or make a burst. Changes that do not parse go to the dead-letter topic.
-- ${placeholders} are filled by `rtrec jobs deploy`; `rtrec jobs render fraud-detection` prints the result.

SET 'table.local-time-zone' = 'UTC';

-- @include source-orders
-- @include source-order_items
-- @include dead-letters

CREATE TABLE alerts_topic (
  alert_id STRING,
  rule STRING,
  customer_id INT,
  order_id INT,
  amount DECIMAL(12, 2),
  order_count INT,
  detail STRING,
  event_time TIMESTAMP_LTZ(3),
  detected_at TIMESTAMP_LTZ(3)
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic.prefix}.fraud-alerts',
  'properties.bootstrap.servers' = '${kafka.brokers}',
  'key.format' = 'json',
  'key.fields' = 'alert_id',
  'value.format' = 'json',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'sink.delivery-guarantee' = 'at-least-once'
);

CREATE TABLE alerts_table (
  alert_id STRING,
  rule STRING,
  customer_id INT,
  order_id INT,
  amount DECIMAL(12, 2),
  order_count INT,
  detail STRING,
  event_time TIMESTAMP(3),
  detected_at TIMESTAMP(3),
  PRIMARY KEY (alert_id) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = '${jdbc.url}',
  'table-name' = 'fraud_alerts',
  'username' = '${jdbc.user}',
  'password' = '${jdbc.password}',
  'sink.buffer-flush.interval' = '200ms',
  'sink.buffer-flush.max-rows' = '500',
  'sink.max-retries' = '5'
);

CREATE TEMPORARY VIEW order_signatures AS
SELECT order_id,
       CONCAT(CAST(COUNT(*) AS STRING), '/', CAST(SUM(quantity) AS STRING), '/',
              CAST(SUM(CAST(product_id AS BIGINT) * quantity) AS STRING), '/',
              CAST(SUM(CAST(product_id AS BIGINT) * product_id * quantity) AS STRING), '/',
              CAST(SUM(price * quantity) AS STRING)) AS signature,
       SUM(price * quantity) AS amount,
       window_time AS event_time
FROM TABLE(TUMBLE(TABLE order_items_created, DESCRIPTOR(event_time), INTERVAL '1' SECOND))
GROUP BY window_start, window_end, window_time, order_id;

CREATE TEMPORARY VIEW customer_signatures AS
SELECT o.order_id, o.customer_id, s.signature, s.amount, s.event_time
FROM order_signatures AS s
JOIN orders_created AS o
  ON o.order_id = s.order_id AND s.event_time BETWEEN o.event_time AND o.event_time + INTERVAL '2' SECOND;

CREATE TEMPORARY VIEW alerts AS
SELECT CONCAT('velocity:', CAST(order_id AS STRING)) AS alert_id, 'velocity' AS rule, customer_id, order_id, amount,
       CAST(order_count AS INT) AS order_count,
       CONCAT('customer ', CAST(customer_id AS STRING), ' placed ', CAST(order_count AS STRING), ' orders within one minute') AS detail,
       event_time
FROM (
  SELECT order_id, customer_id, amount, event_time,
         COUNT(*) OVER (PARTITION BY customer_id ORDER BY event_time RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS order_count
  FROM orders_created
)
WHERE order_count > ${fraud.velocity.max_orders}
UNION ALL
SELECT CONCAT('high_value:', CAST(order_id AS STRING)), 'high_value', customer_id, order_id, amount, 1,
       CONCAT('order total ', CAST(amount AS STRING), ' is above ', '${fraud.high_value}'),
       event_time
FROM orders_created
WHERE amount > ${fraud.high_value}
UNION ALL
SELECT CONCAT('burst:', CAST(order_id AS STRING)), 'burst', customer_id, order_id, amount, CAST(order_count AS INT),
       CONCAT('customer ', CAST(customer_id AS STRING), ' placed ', CAST(order_count AS STRING),
              ' orders with the same items and amount (', signature, ') within ${fraud.burst.window_seconds} s'),
       event_time
FROM (
  SELECT order_id, customer_id, signature, amount, event_time,
         COUNT(*) OVER (PARTITION BY customer_id, signature ORDER BY event_time RANGE BETWEEN INTERVAL '${fraud.burst.window}' DAY TO SECOND PRECEDING AND CURRENT ROW) AS order_count
  FROM customer_signatures
)
WHERE order_count >= ${fraud.burst.count};

EXECUTE STATEMENT SET
BEGIN
INSERT INTO alerts_topic SELECT alert_id, rule, customer_id, order_id, amount, order_count, detail, event_time, CURRENT_TIMESTAMP FROM alerts;
INSERT INTO alerts_table SELECT alert_id, rule, customer_id, order_id, amount, order_count, detail, CAST(event_time AS TIMESTAMP(3)), CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) FROM alerts;
INSERT INTO dead_letters SELECT * FROM orders_poison;
INSERT INTO dead_letters SELECT * FROM order_items_poison;
END;
