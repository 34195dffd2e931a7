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
  /** The consumer's lag on a partition as of the batch it just processed. */
  lag(topic: string, partition: number, lag: number): void;
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
    retry: { initialRetryTime: 200, retries: 5 },
  });
  const topics = [
    ...Object.keys(CDC_TABLES).map((t) => topicOf(config.topicPrefix, t as CdcTable)),
    ...(deps.publishResult ? RESULT_KINDS.map((kind) => resultTopic(config.topicPrefix, kind)) : []),
  ];
  const dlq = deadLetterTopic(config.topicPrefix);
  const state: BridgeReadiness = { connected: false, received: 0, poisoned: 0, lastMessageAt: null, lastError: null };
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
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
          headers: { 'rtrec.source.topic': topic, 'rtrec.source.partition': String(partition), 'rtrec.source.offset': offset, 'rtrec.error': reason },
        },
      ],
    });
  }

  async function connect(): Promise<void> {
    await ensureTopics(kafka, [...topics, dlq]);
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    consumer = kafka.consumer({
      groupId: `rtrec-api-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
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
    if (observer) consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => observer.lag(payload.topic, payload.partition, Number(payload.offsetLag)));
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        deps.observer?.message(topic);
        try {
          const kind = resultKindOfTopic(config.topicPrefix, topic);
          if (kind) {
            const result = parseResult(kind, message.value);
            state.received++;
            deps.publishResult!(result);
            return;
          }
          const event = processMessage({ topic, key: message.key, value: message.value }, config.topicPrefix);
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
  }

  async function teardown(): Promise<void> {
    await Promise.allSettled([consumer?.disconnect(), producer?.disconnect()]);
    consumer = undefined;
    producer = undefined;
  }

  function scheduleReconnect(): void {
    if (stopped || retryTimer) return;
    const delay = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
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
  };
}

export type CdcBridge = ReturnType<typeof createCdcBridge>;
