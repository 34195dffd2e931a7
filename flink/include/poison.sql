-- A change topic's messages the job cannot use, as dead letters with their source position, the reason and this job
-- in headers (the same headers the API bridge writes): those that are not a JSON object (<table>_raw: the message
-- itself), and changes whose fields are missing or do not convert (<table>_problems: the change as the json format
-- read it, re-serialised).
-- The raw reader: the topic's messages as text, beside the changes reader of source-<table>.sql, whose json format
-- skips a message that is not a JSON object.
CREATE TABLE ${table}_raw (
  msg STRING,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL
) WITH (
  'format' = 'raw',
  -- @include cdc-source table=${table}
);

CREATE TEMPORARY VIEW ${table}_poison AS
SELECT msg, MAP[CAST('rtrec.source.topic' AS STRING), CAST(ENCODE('${topic.prefix}.public.${table}', 'UTF-8') AS BYTES),
                CAST('rtrec.source.partition' AS STRING), CAST(ENCODE(CAST(`partition` AS STRING), 'UTF-8') AS BYTES),
                CAST('rtrec.source.offset' AS STRING), CAST(ENCODE(CAST(`offset` AS STRING), 'UTF-8') AS BYTES),
                CAST('rtrec.error' AS STRING), CAST(ENCODE(problem, 'UTF-8') AS BYTES),
                CAST('rtrec.consumer' AS STRING), CAST(ENCODE('flink:${job.name}', 'UTF-8') AS BYTES)] AS headers
FROM (
  SELECT msg, `partition`, `offset`, 'not a JSON object' AS problem
  FROM ${table}_raw
  WHERE msg IS NOT NULL AND NOT (msg IS JSON OBJECT)
  UNION ALL
  SELECT msg, `partition`, `offset`, problem FROM ${table}_problems
);
