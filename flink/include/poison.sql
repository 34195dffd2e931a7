-- A change topic's messages that <table>_checked found unusable (problem), as dead letters: the message itself with
-- its source position, the reason and this job in headers (the same headers the API bridge writes).
CREATE TEMPORARY VIEW ${table}_poison AS
SELECT msg, MAP[CAST('rtrec.source.topic' AS STRING), CAST(ENCODE('${topic.prefix}.public.${table}', 'UTF-8') AS BYTES),
                CAST('rtrec.source.partition' AS STRING), CAST(ENCODE(CAST(`partition` AS STRING), 'UTF-8') AS BYTES),
                CAST('rtrec.source.offset' AS STRING), CAST(ENCODE(CAST(`offset` AS STRING), 'UTF-8') AS BYTES),
                CAST('rtrec.error' AS STRING), CAST(ENCODE(problem, 'UTF-8') AS BYTES),
                CAST('rtrec.consumer' AS STRING), CAST(ENCODE('flink:${job.name}', 'UTF-8') AS BYTES)] AS headers
FROM ${table}_checked
WHERE problem IS NOT NULL;
