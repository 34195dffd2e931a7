-- The behavior_events change topic, read twice like orders (see source-orders.sql): parsed once by the json format,
-- and as text to dead-letter what is not a JSON object. Event time is when the customer acted (occurred_at), which a
-- re-delivered change repeats.
CREATE TABLE behavior_events_changes (
  op STRING,
  after ROW<event_id STRING, customer_id STRING, session_id STRING, event_type STRING, product_id STRING, category_id STRING,
            order_id STRING, occurred_at STRING, context STRING>,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  event_id AS TRY_CAST(after.event_id AS BIGINT),
  customer_id AS TRY_CAST(after.customer_id AS INT),
  session_id AS after.session_id,
  event_type AS after.event_type,
  product_id AS TRY_CAST(after.product_id AS INT),
  category_id AS TRY_CAST(after.category_id AS INT),
  order_id AS TRY_CAST(after.order_id AS INT),
  -- The context column is JSON text inside the change: the experiment arm of recommendation events, the payment
  -- status of orders (src/shop/storefront.ts).
  experiment_id AS TRY_CAST(JSON_VALUE(after.context, '$.experimentId') AS INT),
  variant_id AS TRY_CAST(JSON_VALUE(after.context, '$.variantId') AS INT),
  payment_status AS JSON_VALUE(after.context, '$.paymentStatus'),
  occurred_at AS CAST(TRY_CAST(REPLACE(REPLACE(after.occurred_at, 'T', ' '), 'Z', '') AS TIMESTAMP(3)) AS TIMESTAMP_LTZ(3)),
  event_time AS COALESCE(CAST(TRY_CAST(REPLACE(REPLACE(after.occurred_at, 'T', ' '), 'Z', '') AS TIMESTAMP(3)) AS TIMESTAMP_LTZ(3)), TO_TIMESTAMP_LTZ(0, 3)),
  proc_time AS PROCTIME(),
  WATERMARK FOR event_time AS event_time - INTERVAL '${watermark.delay}' SECOND
) WITH (
  'format' = 'json',
  'json.ignore-parse-errors' = 'true',
  -- @include cdc-source table=behavior_events
);

CREATE TEMPORARY VIEW behavior_events_checked AS
SELECT *,
       CASE
         WHEN op IS NULL OR op NOT IN ('c', 'r', 'u', 'd', 't') THEN 'no Debezium operation (op)'
         WHEN op IN ('c', 'r', 'u') AND (event_id IS NULL OR customer_id IS NULL OR session_id IS NULL OR event_type IS NULL OR occurred_at IS NULL)
           THEN 'the after row lacks event_id, customer_id, session_id, event_type or occurred_at, or one does not convert'
         WHEN op IN ('c', 'r', 'u') AND after.product_id IS NOT NULL AND product_id IS NULL THEN 'product_id does not convert'
         WHEN op IN ('c', 'r', 'u') AND after.category_id IS NOT NULL AND category_id IS NULL THEN 'category_id does not convert'
         WHEN op IN ('c', 'r', 'u') AND after.order_id IS NOT NULL AND order_id IS NULL THEN 'order_id does not convert'
         WHEN op IN ('c', 'r', 'u') AND (JSON_VALUE(after.context, '$.experimentId') IS NOT NULL AND experiment_id IS NULL
                                       OR JSON_VALUE(after.context, '$.variantId') IS NOT NULL AND variant_id IS NULL)
           THEN 'context.experimentId or context.variantId does not convert'
       END AS problem
FROM behavior_events_changes;

CREATE TEMPORARY VIEW behavior_events_problems AS
SELECT JSON_OBJECT('op' VALUE op,
                   'after' VALUE JSON_OBJECT('event_id' VALUE after.event_id, 'customer_id' VALUE after.customer_id,
                                             'session_id' VALUE after.session_id, 'event_type' VALUE after.event_type,
                                             'product_id' VALUE after.product_id, 'category_id' VALUE after.category_id,
                                             'order_id' VALUE after.order_id, 'occurred_at' VALUE after.occurred_at,
                                             'context' VALUE after.context)) AS msg,
       `partition`, `offset`, problem
FROM behavior_events_checked
WHERE problem IS NOT NULL;

-- @include poison table=behavior_events

-- Each live event once, for the windows of the hour (see orders_created): a re-delivered creation collapses in its
-- millisecond; a late one is dropped.
CREATE TEMPORARY VIEW behavior_events_created AS
SELECT event_id, MAX(event_type) AS event_type, MAX(product_id) AS product_id, window_time AS event_time
FROM TABLE(TUMBLE(TABLE behavior_events_checked, DESCRIPTOR(event_time), INTERVAL '0.001' SECOND))
WHERE op = 'c' AND problem IS NULL
GROUP BY window_start, window_end, window_time, event_id;

-- Each event once, history included (features): the first image of an event id wins.
CREATE TEMPORARY VIEW behavior_events_once AS
SELECT event_id, customer_id, session_id, event_type, product_id, category_id, occurred_at, order_id, experiment_id, variant_id, payment_status
FROM (
  SELECT event_id, customer_id, session_id, event_type, product_id, category_id, occurred_at, order_id, experiment_id, variant_id, payment_status,
         ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY proc_time ASC) AS n
  FROM behavior_events_checked
  WHERE op IN ('c', 'r') AND problem IS NULL
)
WHERE n = 1;
