-- Debezium orders topic -> 1-minute tumbling window on the source COMMIT timestamp (event time) -> Kafka topic (JSON)
-- Run: python3 sqlgw.py sql/02-orders-window-to-kafka.sql
SET 'pipeline.name' = 'orders-per-minute-to-kafka';
SET 'table.local-time-zone' = 'UTC';
SET 'table.exec.source.idle-timeout' = '5 s';
-- Debezium is at-least-once (duplicates after a Connect crash): dedupe by PK via ChangelogNormalize(key=[id])
SET 'table.exec.source.cdc-events-duplicate' = 'true';

CREATE TABLE orders_cdc (
  id           INT,
  customer_id  INT,
  amount       DECIMAL(10, 2),
  created_at   TIMESTAMP_LTZ(6),
  commit_ts    TIMESTAMP_LTZ(3) METADATA FROM 'value.source.timestamp' VIRTUAL,
  PRIMARY KEY (id) NOT ENFORCED,
  WATERMARK FOR commit_ts AS commit_ts - INTERVAL '2' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'app.public.orders',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'flink-orders-window',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'debezium-json',
  'debezium-json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE orders_per_minute (
  window_start  TIMESTAMP(3),
  window_end    TIMESTAMP(3),
  customer_id   INT,
  orders        BIGINT,
  total         DECIMAL(20, 2),
  PRIMARY KEY (window_start, customer_id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = 'flink.orders_per_minute',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'key.format' = 'json',
  'value.format' = 'json'
);

INSERT INTO orders_per_minute
SELECT window_start, window_end, customer_id, COUNT(*) AS orders, SUM(amount) AS total
FROM TABLE(TUMBLE(TABLE orders_cdc, DESCRIPTOR(commit_ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, customer_id;
