-- Debezium changelog topic -> Flink -> Postgres (JDBC upsert). Run: python3 sqlgw.py sql/01-cdc-to-postgres.sql
SET 'pipeline.name' = 'customers-cdc-to-pg';
SET 'table.exec.source.cdc-events-duplicate' = 'true';
SET 'table.local-time-zone' = 'UTC';

CREATE TABLE customers_cdc (
  id          INT,
  email       STRING,
  balance     DECIMAL(10, 2),
  updated_at  TIMESTAMP_LTZ(6),
  commit_ts   TIMESTAMP_LTZ(3) METADATA FROM 'value.source.timestamp' VIRTUAL,
  src_table   STRING METADATA FROM 'value.source.table' VIRTUAL,
  PRIMARY KEY (id) NOT ENFORCED,
  WATERMARK FOR commit_ts AS commit_ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'app.public.customers',
  'properties.bootstrap.servers' = '127.0.0.1:19092',
  'properties.group.id' = 'flink-customers-cdc',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'debezium-json',
  'debezium-json.schema-include' = 'false',
  'debezium-json.timestamp-format.standard' = 'ISO-8601',
  'debezium-json.ignore-parse-errors' = 'false'
);

CREATE TABLE customers_sink (
  id       INT,
  email    STRING,
  balance  DECIMAL(10, 2),
  op_ts    TIMESTAMP(3),            -- flink-connector-jdbc 3.3 cannot write TIMESTAMP_LTZ: 'Unsupported type:TIMESTAMP_LTZ(3)' at runtime
  PRIMARY KEY (id) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = 'jdbc:postgresql://127.0.0.1:15432/app',
  'table-name' = 'public.customers_sink',
  'username' = 'postgres',
  'password' = 'unused',
  'sink.buffer-flush.interval' = '1s',
  'sink.buffer-flush.max-rows' = '100',
  'sink.max-retries' = '3'
);

INSERT INTO customers_sink SELECT id, email, balance, CAST(commit_ts AS TIMESTAMP(3)) FROM customers_cdc;
