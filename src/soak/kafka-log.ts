import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';

/** One Debezium change record as the soak checks it. */
export interface KafkaChange {
  partition: number;
  offset: bigint;
  /** The row's key value (the message key's only field), undefined for records that are not changes. */
  key: string | undefined;
  /** source.lsn, undefined for a snapshot-less record without one. */
  lsn: string | undefined;
  op: string | undefined;
}

/** End offsets (the next offset to be written) of each partition of `topic`. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.fetchTopicMetadata({ topics: [topic] });
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

function parseRecord(key: Buffer | null, value: Buffer | null): Pick<KafkaChange, 'key' | 'lsn' | 'op'> {
  let k: string | undefined;
  try {
    const parsed = key ? (JSON.parse(key.toString('utf8')) as Record<string, unknown>) : undefined;
    const body = (parsed?.payload ?? parsed) as Record<string, unknown> | undefined;
    const values = body ? Object.values(body) : [];
    if (values.length === 1 && values[0] !== null) k = String(values[0]);
  } catch {
    k = undefined;
  }
  if (!value) return { key: k, lsn: undefined, op: undefined };
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    const body = (parsed.payload ?? parsed) as { op?: unknown; source?: { lsn?: unknown } };
    return { key: k, lsn: body.source?.lsn == null ? undefined : String(body.source.lsn), op: typeof body.op === 'string' ? body.op : undefined };
  } catch {
    return { key: k, lsn: undefined, op: undefined };
  }
}

/**
 * Every record of `topic` from `from` (per partition; the beginning when absent) up to its end offsets as they
 * are when called, read by a consumer group of its own that commits nothing.
 */
export async function readTopic(kafka: Kafka, topic: string, from: ReadonlyMap<number, bigint> = new Map(), timeoutMs = 120_000): Promise<KafkaChange[]> {
  const ends = await endOffsets(kafka, topic);
  const starts = new Map([...ends.keys()].map((p) => [p, from.get(p) ?? 0n]));
  const remaining = new Set([...ends].filter(([p, end]) => end > starts.get(p)!).map(([p]) => p));
  const records: KafkaChange[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `rtrec-soak-read-${randomUUID()}`, maxBytes: 16 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition) ?? 0n;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < starts.get(batch.partition)! || offset >= end) continue;
          records.push({ partition: batch.partition, offset, ...parseRecord(message.key, message.value) });
        }
        const last = batch.messages.at(-1);
        if (last && BigInt(last.offset) >= end - 1n) remaining.delete(batch.partition);
        if (remaining.size === 0) done();
      },
    });
    for (const [partition, offset] of starts) if (offset > 0n) consumer.seek({ topic, partition, offset: offset.toString() });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`reading ${topic} to its end took more than ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}
