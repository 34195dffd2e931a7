import { randomBytes } from 'node:crypto';
import type { RawEnvelope } from '../../cdc/envelope.js';
import { parseJsonOr } from '../../common/json.js';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../../errors.js';
import { createKafka, withKafka } from '../../kafka/client.js';
import { print, printTable } from '../output.js';

export async function topicList(options: { json?: boolean; all?: boolean }): Promise<void> {
  const config = loadConfig();
  const admin = createKafka(config).admin();
  const rows = await withKafka(config, async () => {
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => options.all || !t.startsWith('_')).sort();
      return await Promise.all(
        topics.map(async (topic) => {
          const offsets = await admin.fetchTopicOffsets(topic);
          const messages = offsets.reduce((sum, p) => sum + (Number(p.high) - Number(p.low)), 0);
          return { topic, partitions: offsets.length, messages };
        }),
      );
    } finally {
      await admin.disconnect();
    }
  });
  if (options.json) return print(JSON.stringify(rows));
  printTable(rows);
}

/** One Debezium envelope as a readable line: operation, table, key and what changed. */
export function describeEnvelope(value: RawEnvelope): string {
  const op = ({ c: 'CREATE', u: 'UPDATE', d: 'DELETE', r: 'READ' } as Record<string, string>)[value.op ?? ''] ?? String(value.op);
  const table = value.source?.table ?? '?';
  const at = value.source?.ts_ms ? new Date(value.source.ts_ms).toISOString() : '';
  const before = value.before ?? {};
  const after = value.after ?? {};
  const changed =
    value.op === 'u'
      ? Object.keys(after)
          .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
          .map((k) => `${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`)
      : [];
  const row = value.op === 'd' ? before : after;
  const key = Object.entries(row).find(([k]) => k.endsWith('_id'));
  const body = value.op === 'u' ? changed.join(', ') : JSON.stringify(row);
  return `${at} ${op.padEnd(6)} ${table}${key ? ` ${key[0]}=${key[1]}` : ''}  ${body}`;
}

export async function topicTail(options: { topic: string; fromBeginning?: boolean; limit?: number; json?: boolean }): Promise<void> {
  const config = loadConfig();
  const kafka = createKafka(config, 'rtrec-tail');
  const admin = kafka.admin();
  await withKafka(config, async () => {
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(options.topic)) {
        throw new AppError('NOT_FOUND', `Topic ${options.topic} does not exist. See \`npx rtrec topic list\`.`);
      }
    } finally {
      await admin.disconnect();
    }
  });
  const consumer = kafka.consumer({ groupId: `rtrec-tail-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 200 });
  let count = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: options.fromBeginning ?? false });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (options.limit !== undefined && count >= options.limit) return;
      count++;
      const text = message.value?.toString() ?? null;
      if (options.json) {
        print(JSON.stringify({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: text === null ? null : parseJsonOr(text) }));
      } else if (text === null) {
        print(`(tombstone) partition ${partition} offset ${message.offset}`);
      } else {
        const value = parseJsonOr(text);
        print(typeof value === 'object' && value !== null && 'op' in value ? describeEnvelope(value as RawEnvelope) : text);
      }
      if (options.limit !== undefined && count >= options.limit) finish();
    },
  });
  const stop = () => finish();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await finished;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await consumer.disconnect();
}
