-- The order_items change topic, read twice like orders (see source-orders.sql): parsed once by the json format, and
-- as text to dead-letter what is not a JSON object.
CREATE TABLE order_items_changes (
  op STRING,
  after ROW<order_item_id STRING, order_id STRING, product_id STRING, quantity STRING, price STRING>,
  `source` ROW<ts_ms STRING>,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  order_item_id AS TRY_CAST(after.order_item_id AS INT),
  order_id AS TRY_CAST(after.order_id AS INT),
  product_id AS TRY_CAST(after.product_id AS INT),
  quantity AS TRY_CAST(after.quantity AS INT),
  price AS TRY_CAST(after.price AS DECIMAL(12, 2)),
  event_time AS TO_TIMESTAMP_LTZ(COALESCE(TRY_CAST(`source`.ts_ms AS BIGINT), 0), 3),
  proc_time AS PROCTIME(),
  WATERMARK FOR event_time AS event_time - INTERVAL '${watermark.delay}' SECOND
) WITH (
  'format' = 'json',
  'json.ignore-parse-errors' = 'true',
  -- @include cdc-source table=order_items
);

CREATE TEMPORARY VIEW order_items_checked AS
SELECT *,
       CASE
         WHEN op IS NULL OR op NOT IN ('c', 'r', 'u', 'd', 't') THEN 'no Debezium operation (op)'
         WHEN TRY_CAST(`source`.ts_ms AS BIGINT) IS NULL THEN 'no commit time (source.ts_ms)'
         WHEN op IN ('c', 'r', 'u') AND (order_item_id IS NULL OR order_id IS NULL OR product_id IS NULL OR quantity IS NULL OR price IS NULL)
           THEN 'the after row lacks order_item_id, order_id, product_id, quantity or price, or one does not convert'
       END AS problem
FROM order_items_changes;

CREATE TEMPORARY VIEW order_items_problems AS
SELECT JSON_OBJECT('op' VALUE op,
                   'after' VALUE JSON_OBJECT('order_item_id' VALUE after.order_item_id, 'order_id' VALUE after.order_id,
                                             'product_id' VALUE after.product_id, 'quantity' VALUE after.quantity, 'price' VALUE after.price),
                   'source' VALUE JSON_OBJECT('ts_ms' VALUE `source`.ts_ms)) AS msg,
       `partition`, `offset`, problem
FROM order_items_checked
WHERE problem IS NOT NULL;

-- @include poison table=order_items

-- Each created order line once (top products, fraud), like orders_created: a re-delivered creation collapses in its
-- commit millisecond, a late one is dropped.
CREATE TEMPORARY VIEW order_items_created AS
SELECT order_item_id, MAX(order_id) AS order_id, MAX(product_id) AS product_id, MAX(quantity) AS quantity, MAX(price) AS price,
       window_time AS event_time
FROM TABLE(TUMBLE(TABLE order_items_checked, DESCRIPTOR(event_time), INTERVAL '0.001' SECOND))
WHERE op = 'c' AND problem IS NULL
GROUP BY window_start, window_end, window_time, order_item_id;

-- Each order line once, history included (features), like orders_once.
CREATE TEMPORARY VIEW order_items_once AS
SELECT order_item_id, order_id, product_id, quantity, price
FROM (
  SELECT order_item_id, order_id, product_id, quantity, price, ROW_NUMBER() OVER (PARTITION BY order_item_id ORDER BY proc_time ASC) AS n
  FROM order_items_checked
  WHERE op IN ('c', 'r') AND problem IS NULL
)
WHERE n = 1;
