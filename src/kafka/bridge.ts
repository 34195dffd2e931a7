import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { type ChangeEvent, PoisonMessageError, processMessage } from '../cdc/envelope.js';
import { CDC_TABLES, type CdcTable, topicOf } from '../cdc/tables.js';
import { parseResult, RESULT_KINDS, resultKindOfTopic, resultTopic, type StreamResult } from '../flink/results.js';
import type { Logger } from '../logging/logger.js';
import { ensureTopics } from './client.js';

export interface CdcBridgeConfig {
  brokers: string[];
  topicPrefix: string;
}

export interface CdcBridgeDeps {
  logger: Logger;
  /** Called for every change, in commit order per table. */
  publish(event: ChangeEvent): void;
  /** Called for every row the Flink jobs write to their output topics (alerts, revenue windows, rankings). */
  publishResult?(result: StreamResult): void;
  /** Told about every message, delivery, dead letter and fetched batch (the metrics). */
  observer?: BridgeObserver;
}

/** What the bridge reports as it goes (src/metrics implements it). */
export interface BridgeObserver {
  message(topic: string): void;
  /** A change was handed to the subscriptions (commit → delivery latency). */
  delivered(event: ChangeEvent): void;
  deadLettered(topic: string): void;
  /** The consumer's lag on a partition, and the partition's end offset (high watermark), as of the batch it just processed. */
  lag(topic: string, partition: number, lag: number, highWatermark: number): void;
}

export interface BridgeReadiness {
  connected: boolean;
  received: number;
  poisoned: number;
  lastMessageAt: Date | null;
  lastError: string | null;
}

/** The dead-letter topic for messages the bridge cannot use. */
export const deadLetterTopic = (prefix: string) => `${prefix}.dlq`;

/**
 * Bridges Debezium topics into the process's pubsub: one consumer per server process, in a group of its
 * own that starts at the latest offsets (subscribers see changes from now on). Topics that do not exist
 * yet are created empty so the subscription never fails. If Kafka is down or goes away the server keeps
 * serving and the bridge reconnects with backoff.
 */
export function createCdcBridge(config: CdcBridgeConfig, deps: CdcBridgeDeps) {
  const kafka = new Kafka({
    clientId: `rtrec-api-${hostname()}-${process.pid}`,
    brokers: config.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    // A broker that is starting may accept connections before it answers: a request fails after 5 s instead of
    // kafkajs' 30 s (fetches wait 100 ms at most, so no healthy request comes near it).
    requestTimeout: 5000,
    // maxRetryTime also bounds the pause before kafkajs restarts a crashed consumer (30 s by default).
    retry: { initialRetryTime: 200, retries: 5, maxRetryTime: 2000 },
  });
  const topics = [
    ...Object.keys(CDC_TABLES).map((t) => topicOf(config.topicPrefix, t as CdcTable)),
    ...(deps.publishResult ? RESULT_KINDS.map((kind) => resultTopic(config.topicPrefix, kind)) : []),
  ];
  const dlq = deadLetterTopic(config.topicPrefix);
  const state: BridgeReadiness = { connected: false, received: 0, poisoned: 0, lastMessageAt: null, lastError: null };
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  /**
   * The next offset to deliver, per topic and partition. A (re)connected consumer starts exactly there (its new
   * group's offsets are set before it joins), so a Kafka outage or a consumer restart loses nothing, and a
   * message at an earlier offset (kafkajs re-fetching after a restart) is not delivered twice.
   */
  const next = new Map<string, Map<number, bigint>>();
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let attempt = 0;

  async function deadLetter(topic: string, partition: number, offset: string, key: Buffer | null, value: Buffer | null, reason: string): Promise<void> {
    state.poisoned++;
    deps.observer?.deadLettered(topic);
    deps.logger.warn({ topic, partition, offset, reason }, 'poison message skipped to the dead-letter topic');
    await producer!.send({
      topic: dlq,
      messages: [
        {
          key,
          value,
          headers: {
            'rtrec.source.topic': topic,
            'rtrec.source.partition': String(partition),
            'rtrec.source.offset': offset,
            'rtrec.error': reason,
            // The Flink jobs write here too (rtrec.consumer flink:<job>): each reader reports what it could not use.
            'rtrec.consumer': 'api',
          },
        },
      ],
    });
  }

  async function connect(): Promise<void> {
    await ensureTopics(kafka, [...topics, dlq]);
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const groupId = `rtrec-api-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    // Where to start: where the last connection stopped, else the end of each topic (changes from now on).
    for (const [topic, ends] of await endOffsets(topics)) {
      const known = next.get(topic) ?? new Map<number, bigint>();
      for (const [partition, high] of ends) if (!known.has(partition)) known.set(partition, high);
      next.set(topic, known);
    }
    // A crashed consumer is rebuilt by the bridge in a fresh group (positioned from `next`), never restarted by
    // kafkajs in the old one: after a broker restart the old group still holds the dead member, and its JoinGroup
    // waited out that member's 30 s session (measured by the soak: subscribers 30 s behind a recovered Kafka).
    consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false, retry: { restartOnFailure: async () => false } });
    // kafkajs restarts a crashed consumer by itself while the error is retriable; readiness follows its
    // events, and only a crash it gives up on makes the bridge rebuild everything.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (!state.connected && attempt > 0) deps.logger.info({ brokers: config.brokers }, 'CDC bridge reconnected to Kafka');
      state.connected = true;
      state.lastError = null;
      attempt = 0;
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (state.connected) deps.logger.warn({ err: event.payload.error }, 'CDC bridge lost Kafka; retrying');
      state.connected = false;
      attempt++;
      state.lastError = String(event.payload.error?.message ?? event.payload.error);
      if (!event.payload.restart && !stopped) scheduleReconnect();
    });
    const observer = deps.observer;
    if (observer)
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
        observer.lag(payload.topic, payload.partition, Number(payload.offsetLag), Number(payload.highWatermark)),
      );
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const offset = BigInt(message.offset);
        const positions = next.get(topic) ?? next.set(topic, new Map()).get(topic)!;
        if (offset < (positions.get(partition) ?? 0n)) return;
        positions.set(partition, offset + 1n);
        deps.observer?.message(topic);
        try {
          const kind = resultKindOfTopic(config.topicPrefix, topic);
          if (kind) {
            const result = parseResult(kind, message.value);
            state.received++;
            deps.publishResult!({ ...result, position: { topic, partition, offset: message.offset } });
            return;
          }
          const event = processMessage({ topic, partition, offset: message.offset, key: message.key, value: message.value }, config.topicPrefix);
          if (!event) return;
          state.received++;
          state.lastMessageAt = event.receivedAt;
          deps.publish(event);
          deps.observer?.delivered(event);
        } catch (error) {
          // Whatever fails on one message (its parsing or a subscriber's handling of it) sends it to the
          // dead-letter topic with its position; rethrowing would make kafkajs retry it forever and stall
          // every subscription. Only a failing dead-letter write is retried (it throws).
          const reason = error instanceof PoisonMessageError ? error.reason : `processing failed: ${(error as Error)?.message ?? String(error)}`;
          await deadLetter(topic, partition, message.offset, message.key, message.value, reason);
        }
      },
    });
    // kafkajs applies a seek before its next fetch and drops any fetched batch of a partition with a seek pending.
    for (const topic of topics) for (const [partition, offset] of next.get(topic) ?? []) consumer.seek({ topic, partition, offset: offset.toString() });
  }

  /**
   * Each topic's end offset per partition. A topic created a moment ago may not have a leader in every broker's
   * metadata yet ("not the leader"): retried for a while, like kafkajs' own retriable errors.
   */
  async function endOffsets(names: string[]): Promise<Map<string, Map<number, bigint>>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const ends = new Map<string, Map<number, bigint>>();
      for (const topic of names) {
        for (let attempt = 0; ; attempt++) {
          try {
            ends.set(topic, new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)])));
            break;
          } catch (error) {
            if (!(error as { retriable?: boolean }).retriable || attempt >= 20) throw error;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
      }
      return ends;
    } finally {
      await admin.disconnect();
    }
  }

  async function teardown(): Promise<void> {
    await Promise.allSettled([consumer?.disconnect(), producer?.disconnect()]);
    consumer = undefined;
    producer = undefined;
  }

  function scheduleReconnect(): void {
    if (stopped || retryTimer) return;
    // Short: a connection attempt to a broker that is down costs little, and every second here is a second
    // of subscribers without changes after Kafka is back.
    const delay = Math.min(2_000, 250 * 2 ** Math.min(attempt, 3));
    attempt++;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void teardown().then(() => start());
    }, delay);
  }

  async function start(): Promise<void> {
    if (stopped) return;
    try {
      await connect();
    } catch (error) {
      state.connected = false;
      state.lastError = (error as Error).message;
      // Log the first failure and then stay quiet while retrying: the API keeps serving without CDC.
      if (attempt === 0) deps.logger.warn({ brokers: config.brokers, err: error }, 'CDC bridge cannot reach Kafka; subscriptions resume when it is back');
      await teardown();
      scheduleReconnect();
    }
  }

  return {
    /** Starts in the background; never throws (see readiness()). */
    start(): void {
      void start();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      await teardown();
      state.connected = false;
    },
    readiness: (): BridgeReadiness => ({ ...state }),
    topics,
    /** The last offset published per partition of a topic (partitions before their first message are left out). */
    delivered(topic: string): Map<number, bigint> {
      const positions = new Map<number, bigint>();
      for (const [partition, offset] of next.get(topic) ?? []) if (offset > 0n) positions.set(partition, offset - 1n);
      return positions;
    },
    /** The oldest offset still kept and the end, per partition of a topic. */
    async offsets(topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
      } finally {
        await admin.disconnect();
      }
    },
    /**
     * The parsed messages of a topic from `from` (inclusive) to `until` (exclusive) per partition, in offset order
     * per partition: what a resuming subscriber missed. Messages the bridge dead-lettered are skipped again.
     */
    async replay(topic: string, from: Map<number, bigint>, until: Map<number, bigint>, timeoutMs = 30_000): Promise<(ChangeEvent | StreamResult)[]> {
      const wanted = [...until].filter(([partition, end]) => (from.get(partition) ?? end) < end);
      if (wanted.length === 0) return [];
      const groupId = `rtrec-replay-${randomBytes(6).toString('hex')}`;
      const reader = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
      try {
        const kind = resultKindOfTopic(config.topicPrefix, topic);
        const read: (ChangeEvent | StreamResult)[] = [];
        const pending = new Map(wanted);
        let done!: () => void;
        const finished = new Promise<void>((resolve) => (done = resolve));
        await reader.connect();
        await reader.subscribe({ topics: [topic], fromBeginning: false });
        await reader.run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const end = pending.get(partition);
            const offset = BigInt(message.offset);
            if (end === undefined || offset >= end) return;
            const position = { topic, partition, offset: message.offset };
            try {
              if (kind) read.push({ ...parseResult(kind, message.value), position });
              else {
                const event = processMessage({ topic, partition, offset: message.offset, key: message.key, value: message.value }, config.topicPrefix);
                if (event) read.push(event);
              }
            } catch (error) {
              if (!(error instanceof PoisonMessageError)) throw error;
            }
            if (offset + 1n >= end) {
              pending.delete(partition);
              if (pending.size === 0) done();
            }
          },
        });
        for (const [partition] of wanted) reader.seek({ topic, partition, offset: from.get(partition)!.toString() });
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
        const late = await Promise.race([finished.then(() => false), timedOut]);
        clearTimeout(timer);
        if (late) throw new Error(`replaying ${topic} did not reach offset ${[...pending].map(([p, o]) => `${p}:${o}`).join(', ')} within ${timeoutMs} ms`);
        return read;
      } finally {
        await reader.disconnect().catch(() => undefined);
        const admin = kafka.admin();
        await admin
          .connect()
          .then(() => admin.deleteGroups([groupId]))
          .catch(() => undefined);
        await admin.disconnect();
      }
    },
  };
}

export type CdcBridge = ReturnType<typeof createCdcBridge>;
