-- The Kafka source options of a Debezium change topic, shared by every job: `-- @include cdc-source table=<table>`
-- inside a CREATE TABLE ... WITH ( ... ) expands to these lines (`rtrec jobs render <job>` shows the result).
-- Each job reads with a consumer group of its own and starts at the earliest offset (its checkpoint on a redeploy).
-- The table states its format before this include. Each topic has two readers in a job (source-<table>.sql and
-- poison.sql): the changes, parsed once by the json format, and the same messages as text, which finds those the
-- json format skips.
-- Both commit their positions to the job's group (informational: a job resumes from its checkpoint, not the group).
  'connector' = 'kafka',
  'topic' = '${topic.prefix}.public.${table}',
  'properties.bootstrap.servers' = '${kafka.brokers}',
  'properties.group.id' = 'rtrec-flink-${job.name}',
  'scan.startup.mode' = 'earliest-offset'
