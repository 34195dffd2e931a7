-- The orders change topic, read twice. orders_changes parses each message once with the json format (every field as
-- text, converted with TRY_CAST, so no field fails the parse); the format skips a message that is not a JSON object,
-- so orders_raw (poison.sql) reads the same messages as text to dead-letter those. A change whose fields are missing
-- or do not convert is dead-lettered too (orders_problems): nothing is dropped silently. (Parsing the text with JSON_VALUE
-- instead parsed each message once per field and check, ~10 times: the sources were the jobs' bottleneck.)
-- Event time is the commit time in PostgreSQL (Debezium's source.ts_ms), which a re-delivered change repeats.
CREATE TABLE orders_changes (
  op STRING,
  after ROW<order_id STRING, customer_id STRING, total_price STRING, order_date STRING>,
  `source` ROW<ts_ms STRING>,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  order_id AS TRY_CAST(after.order_id AS INT),
  customer_id AS TRY_CAST(after.customer_id AS INT),
  total_price AS TRY_CAST(after.total_price AS DECIMAL(12, 2)),
  order_date AS CAST(TRY_CAST(REPLACE(REPLACE(after.order_date, 'T', ' '), 'Z', '') AS TIMESTAMP(3)) AS TIMESTAMP_LTZ(3)),
  event_time AS TO_TIMESTAMP_LTZ(COALESCE(TRY_CAST(`source`.ts_ms AS BIGINT), 0), 3),
  proc_time AS PROCTIME(),
  WATERMARK FOR event_time AS event_time - INTERVAL '${watermark.delay}' SECOND
) WITH (
  'format' = 'json',
  'json.ignore-parse-errors' = 'true',
  -- @include cdc-source table=orders
);

-- What the jobs may use: a known operation, and for a row image every field they read.
CREATE TEMPORARY VIEW orders_checked AS
SELECT *,
       CASE
         WHEN op IS NULL OR op NOT IN ('c', 'r', 'u', 'd', 't') THEN 'no Debezium operation (op)'
         WHEN TRY_CAST(`source`.ts_ms AS BIGINT) IS NULL THEN 'no commit time (source.ts_ms)'
         WHEN op IN ('c', 'r', 'u') AND (order_id IS NULL OR customer_id IS NULL OR total_price IS NULL OR order_date IS NULL)
           THEN 'the after row lacks order_id, customer_id, total_price or order_date, or one does not convert'
       END AS problem
FROM orders_changes;

CREATE TEMPORARY VIEW orders_problems AS
SELECT JSON_OBJECT('op' VALUE op,
                   'after' VALUE JSON_OBJECT('order_id' VALUE after.order_id, 'customer_id' VALUE after.customer_id,
                                             'total_price' VALUE after.total_price, 'order_date' VALUE after.order_date),
                   'source' VALUE JSON_OBJECT('ts_ms' VALUE `source`.ts_ms)) AS msg,
       `partition`, `offset`, problem
FROM orders_checked
WHERE problem IS NOT NULL;

-- @include poison table=orders

-- Each created order once (revenue, fraud): a re-delivered creation repeats its commit time to the millisecond, so it
-- falls into the same one-millisecond window and collapses there; one that arrives after the watermark is late and is
-- dropped like any late change. event_time stays the commit time (the window of one millisecond starts and ends
-- there) and stays a time attribute, for the windows and OVER aggregates after it.
CREATE TEMPORARY VIEW orders_created AS
SELECT order_id, MAX(customer_id) AS customer_id, MAX(total_price) AS amount, window_time AS event_time
FROM TABLE(TUMBLE(TABLE orders_checked, DESCRIPTOR(event_time), INTERVAL '0.001' SECOND))
WHERE op = 'c' AND problem IS NULL
GROUP BY window_start, window_end, window_time, order_id;

-- Each order once, history (snapshot reads) included (features): the first image of an order id wins, so a re-sent
-- change or a second snapshot of the same rows is not counted again.
CREATE TEMPORARY VIEW orders_once AS
SELECT order_id, customer_id, order_date
FROM (
  SELECT order_id, customer_id, order_date, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY proc_time ASC) AS n
  FROM orders_checked
  WHERE op IN ('c', 'r') AND problem IS NULL
)
WHERE n = 1;
