import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type AppContext, createAppContext } from '../../app/context.js';
import { registerConnector } from '../../cdc/register.js';
import { loadConfig } from '../../config/env.js';
import { countRows } from '../../database/counts.js';
import { generateData } from '../../datagen/generate.js';
import { GENERATE_DEFAULTS } from '../../datagen/limits.js';
import { createLogger } from '../../logging/logger.js';
import { createApp } from '../../server/app.js';
import { DASHBOARD_DIST, DASHBOARD_PATH } from '../../server/dashboard.js';
import { listen, type RunningServer } from '../../server/http.js';
import type { SimulatedRecommender } from '../../simulator/options.js';
import { formatUptake, uptakeLine, withRates } from '../../simulator/stats.js';
import { ensureStack } from '../../stack/stack.js';
import { print } from '../output.js';
import { startPeriodicTraining } from '../training.js';

export interface ServeOptions {
  port?: number;
  host?: string;
  /** Bridge CDC topics into subscriptions (default on; commander's --no-cdc sets false). */
  cdc?: boolean;
}

interface Running {
  ctx: AppContext;
  http: RunningServer;
}

/** Starts the API on the configured (or given) host and port. */
async function startServer(options: ServeOptions): Promise<Running> {
  const env = { ...process.env, ...(options.port !== undefined && { PORT: String(options.port) }), ...(options.host && { HOST: options.host }) };
  const config = loadConfig(env);
  const ctx = await createAppContext(config);
  const http = await listen(createApp(ctx), config.server.host, config.server.port, config.server, ctx.metrics.sockets);
  if (options.cdc !== false) ctx.bridge.start();
  return { ctx, http };
}

/** The demo's admin token: GraphiQL and the dashboard read it from the URL fragment, which never reaches the server. */
function printUrls(url: string, adminToken?: string): void {
  const fragment = adminToken ? `#token=${adminToken}` : '';
  print(`GraphQL + GraphiQL  ${url}/graphql${fragment}`);
  const built = existsSync(join(DASHBOARD_DIST, 'index.html'));
  print(`Dashboard           ${url}${DASHBOARD_PATH}${fragment}${built ? '' : '   (not built yet: run `npm run dashboard:build`)'}`);
  print(`REST API            ${url}/   (e.g. ${url}/customers?limit=5)`);
  print(`REST docs (OpenAPI) ${url}/docs`);
  print(`Health              ${url}/health`);
  print(`Metrics             ${url}/metrics   (Prometheus; an admin or analyst token, or METRICS_TOKEN)`);
}

/**
 * Resolves when SIGINT/SIGTERM arrives, then shuts everything down in order: first what the caller started in the
 * background (`beforeShutdown`: no new simulation round, no training run left writing), then the simulations, the
 * server, the Kafka consumer and the pools.
 */
async function runUntilSignal(running: Running, beforeShutdown: () => Promise<void> = async () => undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // A second Ctrl-C does not wait for the drain.
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  process.stderr.write('shutting down: finishing accepted requests, closing subscriptions…\n');
  await beforeShutdown();
  await running.ctx.simulations.shutdown();
  // Requests and subscriptions first, then the Kafka consumer and the LISTEN connection, and the pools last.
  await running.http.close();
  await running.ctx.close();
}

export async function serve(options: ServeOptions): Promise<void> {
  const running = await startServer(options);
  printUrls(running.http.url);
  print('ready');
  await runUntilSignal(running);
}

export interface DemoOptions extends ServeOptions {
  simulate: boolean;
  sessions: number;
  speed: number;
  recommendations: number;
  recommender: SimulatedRecommender;
  /** Minutes between background `rtrec train` runs (0 = none). */
  trainEvery: number;
}

/**
 * The quick-start demo on embedded defaults: database up and migrated, data generated when empty, the
 * API serving, and a simulation running in the background.
 */
export async function demo(options: DemoOptions): Promise<void> {
  const config = loadConfig(process.env);
  const cdc = options.cdc !== false;
  if (cdc) print('Starting Kafka, Kafka Connect with Debezium and Flink (the first run fetches them from Maven Central into the user cache)…');
  // The embedded PostgreSQL comes up as part of the stack (migrated), so `rtrec stack down` stops it too.
  await ensureStack(config, createLogger(config.logLevel), { postgres: true, kafka: cdc, connect: cdc, flink: cdc });
  const running = await startServer(options);
  const { ctx } = running;
  const { simulations } = ctx;
  const counts = await countRows(ctx.pool, ['products', 'customers']);
  if (counts.customers === 0 || counts.products === 0) {
    print(
      `Generating demo data (${GENERATE_DEFAULTS.categories} categories, ${GENERATE_DEFAULTS.products} products, ${GENERATE_DEFAULTS.customers} customers)…`,
    );
    await generateData(ctx.pool, { ...GENERATE_DEFAULTS });
  }
  print(`Database: ${ctx.config.databaseUrl ? 'DATABASE_URL' : 'embedded PostgreSQL'} — psql "$(npx rtrec db url)"`);
  if (options.cdc !== false) {
    const { definition } = await registerConnector(ctx.config);
    print(
      `Change data capture: connector ${definition.name} RUNNING → Kafka ${ctx.config.kafka.brokers.join(',')} topics ${ctx.config.cdc.topicPrefix}.public.<table>`,
    );
    print('  try in GraphiQL: subscription { customerChanged { operation before { firstName } after { firstName } latencyMs } }');
    for (const definition of ctx.jobs.definitions()) {
      const outcome = await ctx.jobs.deploy(definition.name);
      print(`Flink job ${definition.name}: ${outcome.outcome}${outcome.resumedFrom ? ' (resumed from its last checkpoint)' : ''}`);
    }
    print(
      `  Flink web UI ${ctx.config.flink.restUrl}; try: subscription { fraudAlert { rule detail amount } } or { revenueUpdated { windowStart revenue orderCount } }`,
    );
  }
  // Signing makes the secret file (0600, under the data folder) on the first run; every later token uses it.
  const adminToken = await ctx.tokens.sign({ role: 'admin', subject: 'demo' }, 12 * 3600);
  printUrls(running.http.url, adminToken);
  print(`Admin token (12 h; others: npx rtrec token --role admin|service|analyst|customer [--customer <id>]):`);
  print(`  export RTREC_TOKEN=${adminToken}`);
  print(`  curl -H "Authorization: Bearer $RTREC_TOKEN" ${running.http.url}/customers?limit=5`);
  let stopping = false;
  if (options.simulate) {
    // Uptake over every round so far, printed as each round ends: the demo's measure of the closed loop.
    const total = { impressions: 0, clicks: 0 };
    const startSim = async (): Promise<void> => {
      const id = await simulations.start(
        {
          sessions: options.sessions,
          durationMinutes: 5,
          speed: options.speed,
          concurrency: 5,
          sessionsPerDay: 1,
          recommendations: options.recommendations,
          recommender: options.recommender,
        },
        (summary) => {
          if (summary.recommendations) {
            total.impressions += summary.recommendations.impressions;
            total.clicks += summary.recommendations.clicks;
            const overall = withRates({ ...summary.recommendations, ...total, lists: 0, ordersWithClickedProduct: 0, clickedProductsBought: 0 });
            print(`Simulation ${summary.runId} done. ${uptakeLine(summary.recommendations)}; since the demo started: ${formatUptake(overall)}`);
          }
          // A round that ends because the demo is stopping is not restarted (it would write after the pools close).
          if (!stopping) void startSim().catch((error) => ctx.logger.error({ err: error }, 'could not restart the demo simulation'));
        },
      );
      const shown = options.recommendations > 0 ? `, ${options.recommendations} recommendations (${options.recommender}) per session` : '';
      print(`Background simulation ${id}: ${options.sessions} sessions at ${options.speed}× speed${shown} (restarts when done)`);
    };
    await startSim();
  }
  const training = options.trainEvery > 0 ? startPeriodicTraining({ everyMinutes: options.trainEvery, logger: ctx.logger, onTrained: print }) : undefined;
  if (training) print(`Training the recommender every ${options.trainEvery} min in the background (rtrec train; --train-every 0 turns it off)`);
  print('ready — press Ctrl-C to stop');
  await runUntilSignal(running, async () => {
    stopping = true;
    await training?.stop();
  });
}
