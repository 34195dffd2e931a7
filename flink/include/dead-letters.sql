-- The dead-letter topic the API's Kafka bridge also writes to: a change message a job cannot use goes there with its
-- source position and the reason in headers (the same headers as the bridge's, plus rtrec.consumer), never dropped.
CREATE TABLE dead_letters (
  msg STRING,
  headers MAP<STRING, BYTES> METADATA
) WITH (
  'connector' = 'kafka',
  'topic' = '${topic.prefix}.dlq',
  'properties.bootstrap.servers' = '${kafka.brokers}',
  'format' = 'raw',
  'sink.delivery-guarantee' = 'at-least-once'
);
