import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';

/**
 * kafkajs 2.2.4 (unmaintained) hands Node a negative timeout while its request queue idles; Node 24 then prints a
 * TimeoutNegativeWarning (tulios/kafkajs#1751) under every command that talks to Kafka, although it runs the timer
 * after 1 ms as kafkajs intends. Only that warning, raised from kafkajs, is dropped; every other one is printed as
 * before. Installed once, on the first import of this module (every Kafka client of the project goes through it).
 */
function dropKafkajsTimeoutWarning(): void {
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'TimeoutNegativeWarning' && /[\\/]kafkajs[\\/]/.test(warning.stack ?? '')) return;
    for (const print of printers) print.call(process, warning);
  });
}
dropKafkajsTimeoutWarning();

/** A kafkajs client for CLI use: quiet, quick to fail when the broker is not there. */
export function createKafka(config: Config, clientId = 'rtrec-cli'): Kafka {
  return new Kafka({
    clientId,
    brokers: config.kafka.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 2, initialRetryTime: 200 },
  });
}

/** Runs `fn`, turning a connection failure into advice. */
export async function withKafka<T>(config: Config, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (/ECONNREFUSED|Connection error|connect|ETIMEDOUT|broker/i.test(message) && !(error instanceof AppError)) {
      throw new AppError(
        'KAFKA_UNAVAILABLE',
        `Kafka is not reachable at ${config.kafka.brokers.join(',')} (${message}). Start it with \`npx rtrec stack up\` or set KAFKA_BROKERS.`,
      );
    }
    throw error;
  }
}

/**
 * Creates the topics that do not exist yet (one partition each). Consumers subscribe before the first
 * change of a table has created its topic: a missing topic must not be an error for them.
 */
export async function ensureTopics(kafka: Kafka, topics: string[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length) await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: true });
    return missing;
  } finally {
    await admin.disconnect();
  }
}
