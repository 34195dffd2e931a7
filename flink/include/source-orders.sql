-- The orders change topic, read as text and parsed field by field: a message that does not parse is not dropped but
-- dead-lettered (orders_poison). Event time is the commit time in PostgreSQL (Debezium's source.ts_ms), which a
-- re-delivered change repeats.
CREATE TABLE orders_raw (
  msg STRING,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  op AS JSON_VALUE(msg, '$.op'),
  order_id AS TRY_CAST(JSON_VALUE(msg, '$.after.order_id') AS INT),
  customer_id AS TRY_CAST(JSON_VALUE(msg, '$.after.customer_id') AS INT),
  total_price AS TRY_CAST(JSON_VALUE(msg, '$.after.total_price') AS DECIMAL(12, 2)),
  order_date AS CAST(TRY_CAST(REPLACE(REPLACE(JSON_VALUE(msg, '$.after.order_date'), 'T', ' '), 'Z', '') AS TIMESTAMP(3)) AS TIMESTAMP_LTZ(3)),
  event_time AS TO_TIMESTAMP_LTZ(COALESCE(TRY_CAST(JSON_VALUE(msg, '$.source.ts_ms') AS BIGINT), 0), 3),
  proc_time AS PROCTIME(),
  WATERMARK FOR event_time AS event_time - INTERVAL '${watermark.delay}' SECOND
) WITH (
  -- @include cdc-source table=orders
);

-- What the jobs may use: JSON, a known operation, and for a row image every field they read.
CREATE TEMPORARY VIEW orders_checked AS
SELECT *,
       CASE
         WHEN NOT (msg IS JSON OBJECT) THEN 'not a JSON object'
         WHEN op IS NULL OR op NOT IN ('c', 'r', 'u', 'd', 't') THEN 'no Debezium operation (op)'
         WHEN TRY_CAST(JSON_VALUE(msg, '$.source.ts_ms') AS BIGINT) IS NULL THEN 'no commit time (source.ts_ms)'
         WHEN op IN ('c', 'r', 'u') AND (order_id IS NULL OR customer_id IS NULL OR total_price IS NULL OR order_date IS NULL)
           THEN 'the after row lacks order_id, customer_id, total_price or order_date, or one does not convert'
       END AS problem
FROM orders_raw
WHERE msg IS NOT NULL;

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
