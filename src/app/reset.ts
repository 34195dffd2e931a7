import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { createConnectClient } from '../cdc/connect-client.js';
import { CDC_TABLES, type CdcTable, topicOf } from '../cdc/tables.js';
import type { Config } from '../config/env.js';
import { clearData, DYNAMIC_TABLES, STATIC_TABLES } from '../datagen/generate.js';
import { AppError } from '../errors.js';
import type { JobManager } from '../flink/jobs.js';
import { RESULT_KINDS, resultTopic } from '../flink/results.js';
import { createKafka, ensureTopics, withKafka } from '../kafka/client.js';
import type { Logger } from '../logging/logger.js';

/*
 * A reset of the shop's data that leaves no stale derived state. TRUNCATE alone empties the tables, but the
 * change topics still hold every row it removed, the Flink jobs' state still counts them, and a job redeployed
 * without its checkpoint would read them all again. So a reset:
 *   1. checks that the change capture can follow it (when the database is captured: the connector runs and
 *      emits TRUNCATE events), before anything is deleted;
 *   2. cancels the running Flink jobs;
 *   3. empties the shop tables and the derived ones (features, results, trained models) in one transaction;
 *   4. waits for Debezium's TRUNCATE event in each captured table's topic and deletes the records before it
 *      (and the result topics' records), so the topics hold only what happened after the reset;
 *   5. drops the jobs' consumer groups and their retained checkpoints, and redeploys the jobs that ran, from
 *      nothing: they rebuild their state from the topics, which now match the database.
 * A change committed during the reset (a storefront call) is after the TRUNCATE in the log and is kept.
 * A database that is not captured (no replication slot of the connector in it) has nothing derived in Kafka or
 * Flink: only its tables are emptied, and the topics and jobs at the configured addresses, which then belong to
 * another database (a developer's stack while the tests reset theirs), are left alone.
 */

export type ResetScope = 'activity' | 'all';

export interface ResetDeps {
  config: Config;
  logger: Logger;
  pool: pg.Pool;
  jobs: JobManager;
}

export interface ResetReport {
  /** Rows deleted per table (shop and derived tables). */
  deleted: Record<string, number>;
  /** Whether the database is captured (a replication slot of the connector exists). */
  captured: boolean;
  /** Topic → the offset its records were deleted up to (exclusive), per partition. */
  topics: { topic: string; partition: number; deletedBefore: string }[];
  /** The Flink jobs that were running, cancelled and redeployed from a fresh state. */
  restartedJobs: string[];
}

/** How long a reset waits for Debezium's TRUNCATE events to reach Kafka. */
const TRUNCATE_WAIT_MS = 60_000;

export async function resetShopData(deps: ResetDeps, scope: ResetScope): Promise<ResetReport> {
  const { config, logger, pool, jobs } = deps;
  const cleared: readonly string[] = scope === 'all' ? [...DYNAMIC_TABLES, ...STATIC_TABLES] : DYNAMIC_TABLES;
  const tables = cleared.filter((t): t is CdcTable => t in CDC_TABLES);
  const captured = await slotExists(pool, config.cdc.slotName);
  if (!captured) {
    // Nothing derived from this database flows through Kafka or Flink: the topics and jobs at the configured
    // addresses belong to another database (a developer's stack, while tests reset theirs), so they are left alone.
    const deleted = await clearData(pool, scope);
    logger.info({ scope }, 'shop data reset; the database is not captured, so Kafka topics and Flink jobs were left alone');
    return { deleted, captured, topics: [], restartedJobs: [] };
  }
  await checkCaptureFollows(config);
  const kafka = createKafka(config, 'rtrec-reset');

  // Jobs first: a running job's sink would write rows for data that is about to go.
  let running: string[] = [];
  try {
    running = (await jobs.states()).filter((j) => ACTIVE_STATES.has(j.state)).map((j) => j.name);
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'FLINK_UNAVAILABLE')) throw error;
    const recoverable = jobs.recoverable();
    if (recoverable > 0)
      throw new AppError(
        'RESET_REFUSED',
        `Flink's JobManager is not reachable, but its high-availability store holds ${recoverable} job(s) that it takes back when it starts, with state built from the data this reset would delete; nothing was deleted. Start it (\`npx rtrec stack up\`) and retry, so that the reset stops them first.`,
      );
    logger.info('Flink is not reachable: no job to stop; the next deploy starts from a fresh state');
  }
  for (const name of running) await jobs.cancel(name);

  const cdcTopics = tables.map((t) => topicOf(config.cdc.topicPrefix, t));
  const before = await withKafka(config, () => endOffsets(kafka, cdcTopics, true));
  const deleted = await clearData(pool, scope);

  const purged: ResetReport['topics'] = [];
  await withKafka(config, async () => {
    // The captured tables' topics: up to and including Debezium's TRUNCATE event; the rest of a topic is newer.
    const cuts = await truncateOffsets(kafka, before);
    // The jobs' outputs: everything (the jobs are stopped).
    const results = await endOffsets(
      kafka,
      RESULT_KINDS.map((k) => resultTopic(config.cdc.topicPrefix, k)),
      false,
    );
    purged.push(...(await deleteBefore(kafka, cuts)), ...(await deleteBefore(kafka, results)));
    await dropGroups(kafka, 'rtrec-flink-');
  });
  jobs.forgetRuns();
  for (const name of running) await jobs.deploy(name, { fresh: true });
  logger.info({ scope, captured, topics: purged.length, restartedJobs: running }, 'shop data reset with its derived state');
  return { deleted, captured, topics: purged, restartedJobs: running };
}

const ACTIVE_STATES = new Set(['INITIALIZING', 'CREATED', 'RUNNING', 'RESTARTING', 'FAILING', 'RECONCILING']);

async function slotExists(pool: pg.Pool, slot: string): Promise<boolean> {
  const { rowCount } = await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()', [slot]);
  return (rowCount ?? 0) > 0;
}

/**
 * The connector of the slot must be running and must emit TRUNCATE events (Debezium skips them unless
 * `skipped.operations` leaves out `t`): otherwise nothing would mark where the reset is in the topics.
 */
async function checkCaptureFollows(config: Config): Promise<void> {
  const slot = config.cdc.slotName;
  const refuse = (why: string, fix: string) =>
    new AppError('RESET_REFUSED', `The database is captured (replication slot ${slot}), but ${why}; nothing was deleted. ${fix}`);
  const connect = createConnectClient(config.connect.url);
  let names: string[];
  try {
    names = await connect.list();
  } catch {
    throw refuse(
      `Kafka Connect is not reachable at ${config.connect.url}, so the topics and the Flink jobs' state could not be reset with the tables`,
      'Start the stack (`npx rtrec stack up`) and retry.',
    );
  }
  for (const name of names) {
    const c = await connect.config(name);
    if (c?.['slot.name'] !== slot) continue;
    const status = await connect.status(name);
    const states = status ? [status.connector.state, ...status.tasks.map((t) => t.state)] : [];
    if (states.length < 2 || states.some((s) => s !== 'RUNNING'))
      throw refuse(
        `its connector ${name} is not running (${states.join(', ') || 'no tasks'})`,
        `Check it with \`npx rtrec cdc status ${name}\`, restart it, and retry.`,
      );
    const skipped = (c['skipped.operations'] ?? 't').split(',').map((s) => s.trim());
    if (skipped.includes('t'))
      throw refuse(
        `its connector ${name} skips TRUNCATE events (skipped.operations=${c['skipped.operations'] ?? 't (the default)'})`,
        'Re-register it with `npx rtrec cdc register` (the project connector sets skipped.operations=none) and retry.',
      );
    return;
  }
  throw refuse(
    `no connector on ${config.connect.url} uses the slot`,
    'Register the connector (`npx rtrec cdc register`), or drop the slot if nothing captures this database any more (SELECT pg_drop_replication_slot(...)).',
  );
}

type Offsets = Map<string, Map<number, bigint>>;

/** Each topic's end offset per partition (topics that do not exist are created when `create`, else skipped). */
async function endOffsets(kafka: Kafka, topics: string[], create: boolean): Promise<Offsets> {
  if (create) await ensureTopics(kafka, topics);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const offsets: Offsets = new Map();
    for (const topic of topics.filter((t) => existing.has(t))) {
      const partitions = await admin.fetchTopicOffsets(topic);
      offsets.set(topic, new Map(partitions.map((p) => [p.partition, BigInt(p.high)])));
    }
    return offsets;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads each topic from where it ended before the TRUNCATE until Debezium's TRUNCATE event (op "t"): the
 * offsets just after it. A partition that does not receive the event (a topic of several partitions; the
 * event has no key) is cut where it ended before the TRUNCATE, which keeps every newer change.
 */
async function truncateOffsets(kafka: Kafka, before: Offsets): Promise<Offsets> {
  const cuts: Offsets = new Map([...before].map(([topic, parts]) => [topic, new Map(parts)]));
  const waiting = new Set(before.keys());
  if (waiting.size === 0) return cuts;
  const groupId = `rtrec-reset-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...waiting], fromBeginning: false });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (!waiting.has(topic) || BigInt(message.offset) < (before.get(topic)?.get(partition) ?? 0n)) return;
        let op: unknown;
        try {
          const value = JSON.parse(message.value?.toString() ?? 'null') as { op?: unknown; payload?: { op?: unknown } } | null;
          op = value?.op ?? value?.payload?.op;
        } catch {
          return;
        }
        if (op !== 't') return;
        cuts.get(topic)!.set(partition, BigInt(message.offset) + 1n);
        waiting.delete(topic);
        if (waiting.size === 0) done();
      },
    });
    for (const [topic, parts] of before) for (const [partition, offset] of parts) consumer.seek({ topic, partition, offset: String(offset) });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), TRUNCATE_WAIT_MS);
    });
    const outcome = await Promise.race([finished, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout')
      throw new AppError(
        'RESET_INCOMPLETE',
        `The shop tables were emptied, but Debezium's TRUNCATE event did not reach ${[...waiting].join(', ')} within ${TRUNCATE_WAIT_MS / 1000} s, so the topics still hold the deleted rows and the Flink jobs are stopped. Check the connector (\`npx rtrec cdc status\`), then run the reset again (it is safe to repeat).`,
      );
    return cuts;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await dropGroups(kafka, groupId);
  }
}

/** Deletes each partition's records before the given offset (kafkajs deleteTopicRecords). */
async function deleteBefore(kafka: Kafka, cuts: Offsets): Promise<ResetReport['topics']> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const done: ResetReport['topics'] = [];
    for (const [topic, parts] of cuts) {
      const partitions = [...parts].filter(([, offset]) => offset > 0n).map(([partition, offset]) => ({ partition, offset: String(offset) }));
      if (partitions.length === 0) continue;
      // kafkajs looks up the partitions' leaders in metadata it has loaded, and a fresh admin has none for the topic.
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions });
      done.push(...partitions.map((p) => ({ topic, partition: p.partition, deletedBefore: p.offset })));
    }
    return done;
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the consumer groups whose id starts with `prefix` (their committed offsets); a missing one is fine. */
async function dropGroups(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    const ids = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
    if (ids.length) await admin.deleteGroups(ids).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
