-- The Kafka source options of a Debezium change topic, shared by every job: `-- @include cdc-source table=<table>`
-- inside a CREATE TABLE ... WITH ( ... ) expands to these lines (`rtrec jobs render <job>` shows the result).
-- Each job reads with a consumer group of its own and starts at the earliest offset (its checkpoint on a redeploy).
-- The value is read as text (format raw) and parsed by the job with JSON functions, so that a message which does
-- not parse reaches the dead-letter topic instead of being skipped (json.ignore-parse-errors) or failing the job.
  'connector' = 'kafka',
  'topic' = '${topic.prefix}.public.${table}',
  'properties.bootstrap.servers' = '${kafka.brokers}',
  'properties.group.id' = 'rtrec-flink-${job.name}',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'raw'
