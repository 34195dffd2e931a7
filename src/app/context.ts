import type pg from 'pg';
import { isCdcTable, topicOf } from '../cdc/tables.js';
import { createRng } from '../common/random.js';
import type { Config } from '../config/env.js';
import { createPool, createPrisma, createReadPool, type Db, prepareDatabase } from '../database/database.js';
import { createEntityReader, type EntityReader } from '../database/entity-reader.js';
import type { DatabaseUrls } from '../database/roles.js';
import { AppError } from '../errors.js';
import { createExperiments, type Experiments } from '../experiments/experiments.js';
import { createJobManager, type JobManager } from '../flink/jobs.js';
import { type ResultKind, resultTopic } from '../flink/results.js';
import { createAlertWebhook } from '../flink/webhook.js';
import { type CdcBridge, createCdcBridge } from '../kafka/bridge.js';
import { type ChangePubSub, createChangePubSub } from '../kafka/pubsub.js';
import type { ChangeHistory } from '../kafka/resume.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { createMerchandising, type Merchandising } from '../merchandising/rules.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import type { RecommenderEntry } from '../recommend/evaluation/recommender.js';
import { RECOMMENDERS } from '../recommend/evaluation/registry.js';
import { createLiveRecommendations, type LiveRecommendations } from '../recommend/live.js';
import { createRecommender, type Recommender } from '../recommend/serving.js';
import { createTokenService, type TokenService } from '../security/tokens.js';
import { createStorefront, type Storefront } from '../shop/storefront.js';
import { createSimulatedGateway } from '../simulator/behaviour.js';
import { ORACLE_ENTRY } from '../simulator/oracle.js';
import { createSimulationService, type SimulationService } from '../simulator/service.js';
import { flinkHome, flinkJobRunsFile } from '../stack/flink.js';
import { type ResetReport, type ResetScope, resetShopData } from './reset.js';

/*
 * The composition root. Every runtime service is built here, once, from the validated configuration; the
 * server, the CLI commands, the tests' helpers and the benches choose which to use (and so which to start),
 * and none constructs its own. Services that hold resources (a LISTEN connection, a Kafka consumer) are
 * made on first use and closed by `close()`.
 */

/** Everything a command or the server needs, built once from validated configuration. */
export interface AppContext {
  config: Config;
  logger: Logger;
  /** What `db` and `pool` connect with (the API role unless the context was made for another). */
  databaseUrl: string;
  /** Every component's connection string, when the context prepared the database itself. */
  databaseUrls?: DatabaseUrls;
  db: Db;
  pool: pg.Pool;
  /** The entity read path of the API (GraphQL entity queries, REST lists): one SQL statement per read. */
  reader: EntityReader;
  storefront: Storefront;
  /** The recommender the API serves, with the configured options. */
  recommender: Recommender;
  /** The served recommender on another pool (same options), e.g. one whose search path holds as-of features. */
  recommenderOn(pool: pg.Pool): Recommender;
  /** Cached, live-updated recommendation lists (opens a LISTEN connection on first use). */
  readonly recommendations: LiveRecommendations;
  /** Online experiments: what each customer is served while one runs (src/experiments). */
  experiments: Experiments;
  /** Merchandising rules applied to every served list (src/merchandising). */
  merchandising: Merchandising;
  /** Row changes and Flink results, in process: the CDC bridge publishes, subscriptions read. */
  changes: ChangePubSub;
  simulations: SimulationService;
  /** Verifies (and, with an HS256 secret, mints) the bearer tokens of every API request. */
  tokens: TokenService;
  /** The Kafka → pubsub bridge (made on first use, started by the caller). */
  readonly bridge: CdcBridge;
  /** The bridge's topics as history, for subscriptions resuming from a cursor. */
  history: ChangeHistory;
  /** The Flink SQL jobs of flink/ on the configured session cluster. */
  readonly jobs: JobManager;
  /** Empties the shop's activity (or everything) with the state derived from it: topics, Flink jobs, features (src/app/reset.ts). */
  resetShopData(scope: ResetScope): Promise<ResetReport>;
  /** The Prometheus metrics every part reports to (served at /metrics; made on first use). */
  readonly metrics: Metrics;
  /** The rows `rtrec evaluate` computes: the registry's recommenders (ours = the served one) and the oracle. */
  evaluationRecommenders: readonly RecommenderEntry[];
  close(): Promise<void>;
}

/** What the services are built on: a reachable database and its clients (tests bring their own). */
export interface ServiceBase {
  config: Config;
  logger: Logger;
  databaseUrl: string;
  /** Every component's connection string (the Flink jobs use `flink`); without it, everything uses `databaseUrl`. */
  databaseUrls?: DatabaseUrls;
  db: Db;
  pool: pg.Pool;
  /** The entity reader's pool (createReadPool: generic plans); the reader uses `pool` when not given. */
  readPool?: pg.Pool;
  /** Made with the simulated payment gateway when not given. */
  storefront?: Storefront;
}

/** The Flink job manager for a configuration: the managed cluster's checkpoint folder is where redeploys resume from. */
export function jobManagerFor(config: Config, databaseUrl: string, logger: Logger, jobsDir?: string): JobManager {
  const home = flinkHome(config);
  return createJobManager(config, databaseUrl, logger, {
    jobsDir,
    checkpointsDir: home.checkpoints,
    historyFile: flinkJobRunsFile(config),
    // The gateway writes and reads the plans: only a managed one shares this machine's folders.
    plansDir: config.flink.gatewayExternal ? undefined : home.plans,
    haDir: config.flink.restExternal ? undefined : home.ha,
  });
}

/** The bearer-token service of a configuration (the server's verifier; `rtrec token` mints with it). */
export function tokenServiceFor(config: Config): TokenService {
  return createTokenService(config.auth);
}

/**
 * Wires every service on top of a database. `close()` stops what the services started (simulations, the
 * bridge, the LISTEN connection), then runs `closeBase` (the owner of the pools passes their end).
 */
export function createServices(base: ServiceBase, closeBase: () => Promise<void> = async () => undefined): AppContext {
  const { config, logger, pool, db } = base;
  const recommenderOptions = { repurchasableCategories: config.recommend.repurchasableCategories };
  const recommenderOn = (on: pg.Pool) => createRecommender(on, recommenderOptions);
  const recommender = recommenderOn(pool);
  const storefront = base.storefront ?? createStorefront({ db, payments: createSimulatedGateway(createRng(Date.now() % 2 ** 31)) });
  const changes = createChangePubSub();
  const reader = createEntityReader(base.readPool ?? pool, db, (model, reason) => logger.debug({ model, reason }, 'entity read handed to Prisma'));
  const merchandising = createMerchandising({ db, pool, logger });
  const experiments = createExperiments({ db, pool, recommender, logger, merchandising });
  experiments.onChange((id) => changes.publishExperiment(id));
  const simulations = createSimulationService({ db, pool, storefront, logger, recommender, experiments });
  const tokens = tokenServiceFor(config);
  let recommendations: LiveRecommendations | undefined;
  let bridge: CdcBridge | undefined;
  let jobs: JobManager | undefined;
  const evaluationRecommenders = [...RECOMMENDERS, ORACLE_ENTRY];
  let metrics: Metrics | undefined;
  // Made on first use (an app, the bridge, the live lists): default process metrics start an event-loop monitor.
  const metricsOf = () =>
    (metrics ??= createMetrics({
      pool,
      bridge: () => bridge?.readiness(),
      engines: { flinkRestUrl: config.flink.restUrl, connectUrl: config.connect.url, timeoutMs: config.metrics.engineTimeoutMs },
    }));
  const bridgeOf = (): CdcBridge => {
    if (!bridge) {
      const webhook = config.jobs.alertWebhookUrl ? createAlertWebhook(config.jobs.alertWebhookUrl, logger) : undefined;
      bridge = createCdcBridge(
        { brokers: config.kafka.brokers, topicPrefix: config.cdc.topicPrefix },
        {
          logger,
          observer: metricsOf().bridge,
          publish: changes.publish,
          publishResult: (result) => {
            changes.publishResult(result);
            webhook?.onResult(result);
          },
        },
      );
    }
    return bridge;
  };
  let boundary: NodeJS.Timeout | undefined;
  /** Re-serves the watched lists when the next rule window opens or closes (checked again after each change). */
  function scheduleBoundary(): void {
    merchandising
      .nextBoundary()
      .then((at) => {
        if (boundary) clearTimeout(boundary);
        boundary = undefined;
        if (!at || !recommendations) return;
        // Timers are capped at ~24.8 days; a later boundary is re-checked then.
        const wait = Math.min(at.getTime() - Date.now() + 50, 2 ** 31 - 1);
        boundary = setTimeout(
          () => {
            boundary = undefined;
            void recommendations?.refreshAll();
            scheduleBoundary();
          },
          Math.max(0, wait),
        );
        boundary.unref();
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'could not read the merchandising rules’ next window'));
  }
  return {
    ...base,
    storefront,
    reader,
    recommender,
    recommenderOn,
    changes,
    simulations,
    tokens,
    experiments,
    merchandising,
    evaluationRecommenders,
    get metrics() {
      return metricsOf();
    },
    get recommendations() {
      if (!recommendations) {
        const live = createLiveRecommendations(pool, logger, {
          ttlMs: config.recommend.cacheTtlMs,
          recommender,
          serve: (customerId, options) => experiments.serve(customerId, options),
          observer: metricsOf().recommendations,
        });
        // A started or stopped experiment changes what every customer of its placement is served.
        experiments.onChange(() => void live.refreshAll());
        // A rule change, or a rule's window opening or closing, changes lists: re-serve the watched ones.
        merchandising.onChange(() => {
          void live.refreshAll();
          scheduleBoundary();
        });
        scheduleBoundary();
        recommendations = live;
      }
      return recommendations;
    },
    get bridge() {
      return bridgeOf();
    },
    history: {
      topicOf: (name) => (isCdcTable(name) ? topicOf(config.cdc.topicPrefix, name) : resultTopic(config.cdc.topicPrefix, name as ResultKind)),
      async ready() {
        // The server starts the bridge; resuming waits a little for it to (re)connect, then says what is wrong.
        for (let i = 0; i < 50 && !bridgeOf().readiness().connected; i++) await new Promise((r) => setTimeout(r, 100));
        const readiness = bridgeOf().readiness();
        if (!readiness.connected)
          throw new AppError(
            'KAFKA_UNAVAILABLE',
            `Resuming from a cursor reads Kafka, which is not reachable (${readiness.lastError ?? 'the bridge is not connected'}). Retry when it is back (\`npx rtrec stack up\`); the cursor stays valid within the topic's retention.`,
          );
      },
      offsets: (topic) => bridgeOf().offsets(topic),
      delivered: (topic) => bridgeOf().delivered(topic),
      replay: (topic, from, until) => bridgeOf().replay(topic, from, until),
    },
    get jobs() {
      jobs ??= jobManagerFor(config, base.databaseUrls?.flink ?? base.databaseUrl, logger);
      return jobs;
    },
    async resetShopData(scope) {
      await simulations.cancelAll();
      return resetShopData({ config, logger, pool, jobs: (jobs ??= jobManagerFor(config, base.databaseUrls?.flink ?? base.databaseUrl, logger)) }, scope);
    },
    async close() {
      await simulations.shutdown();
      await bridge?.stop();
      if (boundary) clearTimeout(boundary);
      await recommendations?.close();
      await experiments.close();
      await merchandising.close();
      await closeBase();
    },
  };
}

export interface ContextOptions {
  /** Apply committed migrations first (idempotent). */
  migrate?: boolean;
  logger?: Logger;
  /** Connections of the shared pool (default 10). */
  poolSize?: number;
  /**
   * The database role of `db` and `pool`: the API's (DML only, the default), or the owner's for the batch
   * commands that build scratch schemas (evaluate, train).
   */
  role?: 'api' | 'owner';
}

/** Starts (or reaches) the database, then builds every service on it. `close()` ends the services, then the pools. */
export async function createAppContext(config: Config, options: ContextOptions = {}): Promise<AppContext> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const databaseUrls = await prepareDatabase(config, logger, { migrate: options.migrate });
  const databaseUrl = databaseUrls[options.role ?? 'api'];
  const db = createPrisma(databaseUrl);
  const onError = (error: Error) => logger.warn({ err: error }, 'idle database connection failed');
  const pool = createPool(databaseUrl, options.poolSize ?? 10, onError);
  const readPool = createReadPool(databaseUrl, options.poolSize ?? 10, onError);
  return createServices({ config, logger, databaseUrl, databaseUrls, db, pool, readPool }, async () => {
    await Promise.allSettled([db.$disconnect(), pool.end(), readPool.end()]);
  });
}
