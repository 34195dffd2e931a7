import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { type AppContext, createAppContext } from '../app/context.js';
import { createConnectClient } from '../cdc/connect-client.js';
import { registerConnector } from '../cdc/register.js';
import { type CdcTable, topicOf } from '../cdc/tables.js';
import { freePort } from '../common/net.js';
import { isAlive, portOpen } from '../common/process.js';
import { createRng } from '../common/random.js';
import { type Config, loadConfig } from '../config/env.js';
import { createPool, locateDatabase } from '../database/database.js';
import { generateData } from '../datagen/generate.js';
import { waitCaughtUp } from '../flink/catch-up.js';
import { FlinkRest } from '../flink/gateway.js';
import { createKafka } from '../kafka/client.js';
import { encodeCursor } from '../kafka/cursor.js';
import { createLogger } from '../logging/logger.js';
import { runLive } from '../simulator/live.js';
import { loadWorld } from '../simulator/world.js';
import { createStack } from '../stack/stack.js';
import {
  type AggregateCheck,
  type AggregateReport,
  checkFeatures,
  checkFraud,
  checkRevenue,
  checkTopProducts,
  loadReference,
  TRUTH_SCHEMA,
} from './aggregates.js';
import { apiProcess } from './api-process.js';
import { type FaultComponent, faultSequence, killComponent, restartComponent } from './faults.js';
import { endOffsets, readTopic } from './kafka-log.js';
import { type ResumingSubscriber, startResumingSubscriber } from './subscriber.js';
import { changeId, openReferenceLog } from './wal.js';

/*
 * The soak: a steady live simulation through the storefront on the whole stack, while one component at a time
 * is killed with SIGKILL and started again; at the end every result is reconciled with PostgreSQL.
 *   (a) every change PostgreSQL committed (its own logical decoding, a slot of the soak's) is in Kafka, by
 *       table, key and LSN;
 *   (b) closed revenue windows, closed top-products windows, fraud alerts and the feature tables equal their
 *       recomputation in SQL;
 *   (c) subscribers that resume with their cursor across the API's deaths received every record of their
 *       topic exactly once;
 *   (d) no process and no port is left once the stack is down.
 */

export interface SoakOptions {
  minutes: number;
  /** Target committed changes per second (the writers are paced to it; the report says what was reached). */
  rate: number;
  faults: FaultComponent[];
  /** Seconds from one kill to the next (the next waits for the previous recovery). */
  intervalSeconds: number;
  /** Seconds a killed component stays down before it is started again. */
  downSeconds: number;
  seed: number;
  /** Data folder of the soak's stack (made fresh; the caller removes it). */
  dataDir: string;
  /** Extra environment for the stack, the API and the jobs (ports, window sizes); process.env underneath. */
  env?: Record<string, string>;
  /** Concurrent shopping sessions. */
  concurrency: number;
  onProgress?: (text: string) => void;
}

export interface FaultRecord {
  component: FaultComponent;
  /** Seconds since the load started. */
  at: number;
  /** Seconds from the restart until changes flowed again end to end (API subscriber and Flink features); null: never. */
  recoverySeconds: number | null;
  /** What had to be done besides starting the process again (a failed connector task restarted, a job redeployed). */
  healed: string[];
  /**
   * Seconds from the restart until: the process was up again (`rtrec stack up` returned), the connector and the
   * jobs were running, subscribers received a change committed after the restart, the features job processed one.
   */
  phases: { started: number; healed: number; api: number | null; flink: number | null };
}

export interface SoakReport {
  minutes: number;
  targetRate: number;
  /** Changes committed per second of load, as PostgreSQL's log counts them. */
  changesPerSecond: number;
  faultsInjected: number;
  faults: FaultRecord[];
  /** The slowest recovery per component (seconds; null when one never recovered). */
  recoverySeconds: Partial<Record<FaultComponent, number | null>>;
  /** Committed changes checked against Kafka. */
  changesChecked: number;
  /** Committed changes missing from Kafka, plus Kafka records a resuming subscriber never received. */
  lost: number;
  /** Of `lost`: committed changes missing from Kafka. */
  lostInKafka: number;
  /** Kafka records a subscriber received more than once. */
  duplicated: number;
  /** Changes Debezium delivered more than once (at-least-once; the jobs must absorb them). */
  redelivered: number;
  mismatchedAggregates: number;
  aggregates: AggregateReport;
  subscribers: { table: string; checked: number; lost: number; duplicated: number; reconnects: number; errors: string[] }[];
  writerErrors: number;
  /** A few committed changes (table|key|lsn) missing from Kafka. */
  lostExamples: string[];
  /** Processes or ports still there after the stack was stopped. */
  leftOver: string[];
  ok: boolean;
}

const SUBSCRIBED: CdcTable[] = ['orders', 'behavior_events'];
const CHECKED_TABLES: CdcTable[] = ['customers', 'orders', 'order_items', 'carts', 'wishlists', 'payments', 'shipments', 'behavior_events'];

/**
 * Paces storefront calls to a number of committed changes per second: it learns how many changes a call makes
 * and corrects for what the last second actually committed (the writers' own latency, sessions' pauses).
 */
function pacer(rate: number) {
  let nextAt = 0;
  let actions = 0;
  let perAction = 2;
  let correction = 1;
  return {
    get actions() {
      return actions;
    },
    /** Tells it how many changes the last `deltaActions` calls committed in `seconds`. */
    observe(deltaChanges: number, deltaActions: number, seconds: number) {
      if (deltaActions >= 20) perAction = 0.7 * perAction + 0.3 * Math.max(0.2, deltaChanges / deltaActions);
      const reached = deltaChanges / Math.max(0.1, seconds);
      if (deltaActions > 0 && reached < 0.97 * rate) correction = Math.max(0.3, correction * 0.9);
      else if (reached > 1.03 * rate) correction = Math.min(3, correction * 1.1);
    },
    async take(signal: AbortSignal) {
      const now = performance.now();
      const at = Math.max(now, nextAt);
      nextAt = at + (1000 * perAction * correction) / rate;
      actions++;
      if (at > now && !signal.aborted) await sleep(at - now, undefined, { signal }).catch(() => undefined);
    },
  };
}

function pacedStorefront(storefront: AppContext['storefront'], pace: ReturnType<typeof pacer>, signal: AbortSignal): AppContext['storefront'] {
  return new Proxy(storefront, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await pace.take(signal);
        return value.apply(target, args);
      };
    },
  });
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const progress = options.onProgress ?? (() => undefined);
  mkdirSync(options.dataDir, { recursive: true });
  const env: Record<string, string | undefined> = {
    // Short windows and sensitive fraud rules, so that a few minutes of load close many windows and raise alerts
    // of every rule for the reconciliation to check (each overridable from the environment).
    REVENUE_WINDOW_SECONDS: '10',
    FRAUD_VELOCITY_MAX_ORDERS: '2',
    FRAUD_HIGH_VALUE: '400',
    FRAUD_BURST_COUNT: '2',
    FRAUD_BURST_WINDOW_SECONDS: '30',
    ...process.env,
    ...options.env,
    RTREC_DATA_DIR: options.dataDir,
  };
  const config: Config = loadConfig(env);
  // Errors only by default: every kill of PostgreSQL makes each idle connection of the soak's own pools warn (with a
  // stack), which the report already accounts for (writerErrors, recovery). LOG_LEVEL=warn shows them.
  const logger = createLogger(process.env.LOG_LEVEL ?? 'error', { component: 'soak' });
  const stack = createStack(config, logger);
  const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
  const seen = { pids: new Set<number>(), ports: new Set<number>() };
  const noteEngines = async () => {
    for (const s of await stack.status().catch(() => [])) {
      if (s.mode !== 'managed') continue;
      if (s.pid) seen.pids.add(s.pid);
      for (const port of Object.values(s.ports)) seen.ports.add(port);
    }
  };
  if (config.databaseUrl) throw new Error('the soak kills PostgreSQL, so it runs on the embedded one: unset DATABASE_URL');
  let report: SoakReport | undefined;
  try {
    progress('starting the stack (PostgreSQL, Kafka, Kafka Connect with Debezium, Flink)…');
    await stack.up();
    await noteEngines();
    const ctx = await createAppContext(config, { logger });
    cleanups.push({ name: 'closing the database pools', run: () => ctx.close() });
    const superuser = locateDatabase(config, logger).embedded!.url();
    const admin = createPool(superuser, 3);
    cleanups.push({ name: 'closing the superuser pool', run: () => admin.end() });
    progress('generating a shop, registering the connector, deploying the Flink jobs…');
    await generateData(ctx.pool, { categories: 6, products: 120, customers: 300, seed: options.seed });
    const { definition } = await registerConnector(config);
    for (const d of ctx.jobs.definitions()) await ctx.jobs.deploy(d.name);
    // The load starts once the jobs have read the shop's history (the connector's snapshot): setup, not load.
    progress('letting the Flink jobs read the shop’s history…');
    progress(`  caught up in ${await waitCaughtUp(new FlinkRest(config.flink.restUrl), 5000, undefined, 300_000)} s`);
    // The reference begins before the load, so every change of the load is in it.
    const reference = await openReferenceLog(superuser, 'rtrec_soak_reference');
    cleanups.push({ name: 'dropping the reference slot', run: () => reference.close() });
    const apiPort = Number(env.SOAK_API_PORT ?? (await freePort()));
    seen.ports.add(apiPort);
    const api = apiProcess({
      port: apiPort,
      env: { ...env, LOG_LEVEL: env.LOG_LEVEL ?? 'info' } as NodeJS.ProcessEnv,
      logFile: join(options.dataDir, 'api.log'),
    });
    cleanups.push({ name: 'stopping the API', run: () => api.stop() });
    await api.start();
    if (api.pid) seen.pids.add(api.pid);
    const token = await ctx.tokens.sign({ role: 'admin', subject: 'soak' }, 24 * 3600);
    const kafka = createKafka(config, 'rtrec-soak');
    // Subscribers start right after the records already in their topics (the snapshot and the generated shop). A
    // cursor names the last record received, so each topic needs one: an order (with its events) makes sure.
    await placeOneOrder(ctx);
    const startOffsets = new Map<CdcTable, Map<number, bigint>>();
    const subscribers = new Map<CdcTable, ResumingSubscriber>();
    for (const table of SUBSCRIBED) {
      const topic = topicOf(config.cdc.topicPrefix, table);
      const ends = await recordsIn(kafka, topic);
      startOffsets.set(table, ends);
      const after = encodeCursor(topic, new Map([...ends].map(([p, o]) => [p, o - 1n])));
      subscribers.set(table, startResumingSubscriber({ url: api.url, token, table, topic, after }));
    }
    cleanups.push({ name: 'stopping the subscribers', run: () => Promise.all([...subscribers.values()].map((s) => s.stop())) });

    // The load: simulated shopping sessions through the storefront, paced to the rate, tolerant of every fault.
    const stopLoad = new AbortController();
    const pace = pacer(options.rate);
    const storefront = pacedStorefront(ctx.storefront, pace, stopLoad.signal);
    let writerErrors = 0;
    let round = 0;
    const quiet = createLogger('silent');
    const load = (async () => {
      while (!stopLoad.signal.aborted) {
        try {
          const world = await loadWorld(ctx.pool);
          await runLive(
            { pool: ctx.pool, storefront, world, logger: quiet, signal: stopLoad.signal },
            { sessions: 50, durationMinutes: 2, speed: 600, concurrency: options.concurrency, seed: options.seed * 1000 + round++ },
          );
        } catch {
          writerErrors++;
          await sleep(500);
        }
      }
    })();
    cleanups.push({
      name: 'stopping the load',
      run: async () => {
        stopLoad.abort();
        await load;
      },
    });
    const loadStarted = Date.now();
    let lastChanges = 0;
    let lastActions = 0;
    let lastAt = performance.now();
    const polling = setInterval(() => {
      void reference.poll().then(() => {
        const now = performance.now();
        pace.observe(reference.count - lastChanges, pace.actions - lastActions, (now - lastAt) / 1000);
        lastChanges = reference.count;
        lastActions = pace.actions;
        lastAt = now;
      });
    }, 1000);
    cleanups.push({ name: 'stopping the reference reads', run: async () => clearInterval(polling) });

    // Faults.
    const rng = createRng(options.seed);
    const next = faultSequence(options.faults, () => rng.next());
    const faults: FaultRecord[] = [];
    const until = loadStarted + options.minutes * 60_000;
    let nextKill = loadStarted + options.intervalSeconds * 1000;
    const maxLastAt = async () =>
      (await ctx.pool.query<{ at: Date | null }>('SELECT max(last_at) AS at FROM rec_customer_product')).rows[0]?.at?.getTime() ?? 0;
    // A recovery can outlast the next kill time (or the load): no fault starts that could not end within the load.
    while (options.faults.length > 0 && Math.max(nextKill, Date.now()) + options.downSeconds * 1000 < until) {
      await sleep(Math.max(0, nextKill - Date.now()));
      const component = next();
      const at = (Date.now() - loadStarted) / 1000;
      progress(`${at.toFixed(0)} s: kill -9 ${component} (${faults.length + 1}); ${reference.count} changes so far`);
      nextKill = Date.now() + options.intervalSeconds * 1000;
      await killComponent(component, stack, api);
      await sleep(options.downSeconds * 1000);
      const restartedAt = Date.now();
      const since = () => Math.round((Date.now() - restartedAt) / 100) / 10;
      await restartComponent(component, stack, api);
      const phases: FaultRecord['phases'] = { started: since(), healed: 0, api: null, flink: null };
      await noteEngines();
      if (api.pid) seen.pids.add(api.pid);
      const healed = await heal(ctx, definition.name, since);
      phases.healed = since();
      // Back to full flow: a change committed after the restart reached every subscriber through Kafka and the API,
      // and the Flink features job has processed one.
      let recoverySeconds: number | null = null;
      const deadline = restartedAt + 180_000;
      while (Date.now() < deadline) {
        if (phases.api === null && [...subscribers.values()].every((s) => s.newestCommitSince(restartedAt))) phases.api = since();
        if (phases.flink === null && (await maxLastAt().catch(() => 0)) >= restartedAt) phases.flink = since();
        if (phases.api !== null && phases.flink !== null) {
          recoverySeconds = since();
          break;
        }
        await sleep(250);
      }
      faults.push({ component, at, recoverySeconds, healed, phases });
      progress(
        `  ${component} back to full flow ${recoverySeconds === null ? 'NEVER (180 s)' : `in ${recoverySeconds.toFixed(1)} s`}${healed.length ? ` (${healed.join('; ')})` : ''}`,
      );
    }
    await sleep(Math.max(0, until - Date.now()));

    // The end: stop writing, close the last windows, let everything drain.
    progress('load done; closing the last windows and letting the pipeline drain…');
    stopLoad.abort();
    await load;
    clearInterval(polling);
    await reference.poll();
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    const cutoff = reference.lastCommit ?? new Date();
    const changesPerSecond = reference.count / loadSeconds;
    await sleep(3000);
    // One more order after a pause moves the jobs' watermark past every window that ended before it.
    await placeOneOrder(ctx);
    await reference.poll();

    // (a) Every committed change is in Kafka.
    progress('reconciling: PostgreSQL → Kafka…');
    const inKafka = new Map<string, number>();
    const topicRecords = new Map<CdcTable, Awaited<ReturnType<typeof readTopic>>>();
    for (const table of CHECKED_TABLES) {
      const records = await readTopic(kafka, topicOf(config.cdc.topicPrefix, table));
      topicRecords.set(table, records);
      for (const r of records) {
        if (r.key === undefined || r.lsn === undefined) continue;
        const id = changeId({ table, key: r.key, lsn: r.lsn });
        inKafka.set(id, (inKafka.get(id) ?? 0) + 1);
      }
    }
    let lost = 0;
    let redelivered = 0;
    let changesChecked = 0;
    const lostExamples: string[] = [];
    for (const [id, change] of reference.changes) {
      if (!CHECKED_TABLES.includes(change.table)) continue;
      changesChecked++;
      const n = inKafka.get(id) ?? 0;
      if (n === 0) {
        lost++;
        if (lostExamples.length < 5) lostExamples.push(id);
      } else redelivered += n - 1;
    }

    const lostInKafka = lost;

    // (c) Each subscriber received every record of its topic once.
    progress('reconciling: subscribers…');
    const subscriberReports: SoakReport['subscribers'] = [];
    let duplicated = 0;
    for (const [table, subscriber] of subscribers) {
      const expected = (topicRecords.get(table) ?? []).filter((r) => r.offset >= (startOffsets.get(table)?.get(r.partition) ?? 0n));
      const ids = expected.map((r) => `${r.partition}:${r.offset}`);
      // They may still be catching up with the last records.
      for (let i = 0; i < 120 && ids.some((id) => !subscriber.deliveries.has(id)); i++) await sleep(500);
      const missing = ids.filter((id) => !subscriber.deliveries.has(id)).length;
      const twice = ids.filter((id) => (subscriber.deliveries.get(id) ?? 0) > 1).length;
      lost += missing;
      duplicated += twice;
      subscriberReports.push({
        table,
        checked: ids.length,
        lost: missing,
        duplicated: twice,
        reconnects: subscriber.reconnects,
        errors: [...subscriber.errors],
      });
    }

    // (b) The jobs' results equal their recomputation in SQL (given time to catch up).
    progress('reconciling: Flink results against SQL…');
    await loadReference(admin, reference.created);
    const rules = config.jobs;
    const loadStart = new Date(loadStarted);
    const lookBack = Math.max(60, rules.fraudBurstWindowSeconds) * 1000;
    const settle = async (check: () => Promise<AggregateCheck>): Promise<AggregateCheck> => {
      let result = await check();
      for (let i = 0; i < 60 && result.mismatched > 0; i++) {
        await sleep(2000);
        result = await check();
      }
      return result;
    };
    const aggregates: AggregateReport = {
      revenueWindows: await settle(() => checkRevenue(admin, rules, loadStart, cutoff)),
      topProducts: await settle(() => checkTopProducts(admin, loadStart, cutoff)),
      // The burst rule sums an order's lines in 1-second windows: the last second before the cutoff may still be open.
      fraudAlerts: await settle(() => checkFraud(admin, rules, new Date(loadStarted + lookBack), new Date(cutoff.getTime() - 2000))),
      features: await settle(() => checkFeatures(admin, new Date(Date.now() + 3600_000))),
    };
    await admin.query(`DROP SCHEMA IF EXISTS ${TRUTH_SCHEMA} CASCADE`);
    const mismatchedAggregates = Object.values(aggregates).reduce((sum, a) => sum + a.mismatched, 0);

    const recoverySeconds: SoakReport['recoverySeconds'] = {};
    for (const f of faults) {
      const before = recoverySeconds[f.component];
      recoverySeconds[f.component] = before === null || f.recoverySeconds === null ? null : Math.max(before ?? 0, f.recoverySeconds);
    }
    report = {
      minutes: options.minutes,
      targetRate: options.rate,
      changesPerSecond: Math.round(changesPerSecond * 10) / 10,
      faultsInjected: faults.length,
      faults,
      recoverySeconds,
      changesChecked,
      lostInKafka,
      lost,
      duplicated,
      redelivered,
      mismatchedAggregates,
      aggregates,
      subscribers: subscriberReports,
      writerErrors,
      lostExamples,
      leftOver: [],
      ok: false,
    };
  } finally {
    // (d) Everything stops, and nothing is left.
    progress('stopping the API, the stack and every process…');
    // Each step bounded: a client left hanging by a killed server must not keep the engines running.
    for (const { name, run } of cleanups.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 30_000);
      });
      const outcome = await Promise.race([run().catch((error) => logger.warn({ err: error }, `soak cleanup: ${name} failed`)), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') progress(`cleanup: ${name} did not finish within 30 s; going on`);
    }
    await noteEngines();
    await stack.down().catch((error) => logger.error({ err: error }, 'stack down failed'));
  }
  const leftOver: string[] = [];
  for (const pid of seen.pids) if (isAlive(pid)) leftOver.push(`process ${pid}`);
  for (const port of seen.ports) if (await portOpen(port)) leftOver.push(`port ${port}`);
  if (!report) throw new Error('the soak ended without a report');
  report.leftOver = leftOver;
  const recovered = report.faults.every((f) => f.recoverySeconds !== null);
  report.ok = report.lost === 0 && report.duplicated === 0 && report.mismatchedAggregates === 0 && leftOver.length === 0 && recovered;
  return report;
}

/** One order through the storefront (a product in the cart, then paid), by the first customer. */
async function placeOneOrder(ctx: AppContext): Promise<void> {
  const world = await loadWorld(ctx.pool);
  const customer = world.customers[0]!.customerId;
  await ctx.storefront.addToCart(customer, world.activeProducts.find((p) => p.stock > 0)!.productId, 1);
  await ctx.storefront.placeOrder(customer, 'credit_card');
}

/** The end offsets of `topic` once every partition holds a record (a cursor names a record), waiting up to 60 s. */
async function recordsIn(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  for (let i = 0; ; i++) {
    const ends = await endOffsets(kafka, topic).catch(() => new Map<number, bigint>());
    if (ends.size > 0 && [...ends.values()].every((o) => o > 0n)) return ends;
    if (i >= 120) throw new Error(`no change reached ${topic} within 60 s: is the connector running?`);
    await sleep(500);
  }
}

/**
 * What an operator does after a restart, done and recorded: a connector task that failed while its database or
 * broker was gone is restarted; a Flink job that used up its restarts (or was lost with the JobManager) is
 * deployed again from its last checkpoint (`rtrec jobs deploy`).
 */
async function heal(ctx: AppContext, connector: string, since: () => number): Promise<string[]> {
  const healed: string[] = [];
  const connect = createConnectClient(ctx.config.connect.url);
  const deadline = Date.now() + 180_000;
  let restarted = false;
  while (Date.now() < deadline) {
    const status = await connect.status(connector).catch(() => undefined);
    const states = status ? [status.connector.state, ...status.tasks.map((t) => t.state)] : [];
    if (states.length > 1 && states.every((s) => s === 'RUNNING')) break;
    if (states.includes('FAILED') && !restarted) {
      await connect.restart(connector).catch(() => undefined);
      healed.push(`connector task restarted at ${since()} s`);
      restarted = true;
    }
    await sleep(500);
  }
  const redeployed = new Set<string>();
  while (Date.now() < deadline) {
    const jobs = await ctx.jobs.states().catch(() => undefined);
    if (jobs?.every((j) => j.state === 'RUNNING')) break;
    // All at once: a JobManager that died took every job with it, and each submission waits on the SQL gateway.
    const lost = (jobs ?? []).filter((j) => ['FAILED', 'CANCELED', 'FINISHED', 'NOT DEPLOYED', 'SUSPENDED'].includes(j.state) && !redeployed.has(j.name));
    await Promise.all(
      lost.map(async (job) => {
        const outcome = await ctx.jobs.deploy(job.name).catch(() => undefined);
        if (!outcome) return;
        redeployed.add(job.name);
        healed.push(`job ${job.name} redeployed${outcome.resumedFrom ? ' from its checkpoint' : ' (no checkpoint)'} at ${since()} s`);
      }),
    );
    await sleep(1000);
  }
  return healed;
}
