-- The Kafka source options of a Debezium change topic, shared by every job: `-- @include cdc-source table=<table>`
-- inside a CREATE TABLE ... WITH ( ... ) expands to these lines (`rtrec jobs render <job>` shows the result).
-- Each job reads with a consumer group of its own and starts at the earliest offset (its checkpoint on a redeploy).
  'connector' = 'kafka',
  'topic' = '${topic.prefix}.public.${table}',
  'properties.bootstrap.servers' = '${kafka.brokers}',
  'properties.group.id' = 'rtrec-flink-${job.name}',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'json',
  'json.timestamp-format.standard' = 'ISO-8601',
  'json.ignore-parse-errors' = 'true'
