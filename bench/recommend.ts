/**
 * Serving benchmark for `recommendations` (not a timed test). Baselines measured in the same run:
 * the same server's no-op query `{ __typename }` for requests/s, and the plain primary-key lookup
 * `customer(customerId)` for latency.
 *
 *   npm run bench:recommend [-- --seconds 10 --connections 8 --samples 2000 --fresh]
 *
 * The model is trained first, as `rtrec train` does (learned neighbours + fitted ranker weights), so serving reads them.
 *
 * Data: the evaluation recipe of bench/RESULTS.md (30 categories, 3,000 products, 5,000 customers, 30 days of
 * 3,000 sessions/day), kept in the database `rtrec_bench_rec` between runs (`--fresh` rebuilds it). The
 * features Flink maintains are computed in SQL by the same definitions (src/recommend/features-sql.ts, which
 * the e2e test checks against the Flink job) and copied into the live rec_* tables, so this bench needs no
 * Kafka or Flink: it measures serving alone.
 *
 * Figures: server-side time of one recommend() call (the prepared SQL round trip + ranking in JS), sequential
 * and with `--connections` concurrent callers; then over HTTP through `rtrec serve` in its own process:
 * requests/s and latency of `recommendations(first: 10)` against the same server's no-op query, without the
 * list cache for random customers (10% never seen: cold start), and with it for 1,000 active customers
 * asked in turn (each list is computed once, then served from memory until the customer acts or the TTL).
 */
import { performance } from 'node:perf_hooks';
import { createServices } from '../src/app/context.js';
import { createRng } from '../src/common/random.js';
import { loadConfig } from '../src/config/env.js';
import { createPool, createPrisma } from '../src/database/database.js';
import { FEATURE_TABLES } from '../src/database/privileges.js';
import { generateData } from '../src/datagen/generate.js';
import { createLogger } from '../src/logging/logger.js';
import { replaceFeaturesAsOf } from '../src/recommend/features-sql.js';
import { trainServed } from '../src/recommend/train.js';
import { startSimulation } from '../src/simulator/runs.js';
import { againstNoop, benchDatabase, flag, line, percentile, startServer } from './lib.js';

const seconds = flag('seconds', 10);
const connections = flag('connections', 8);
const samples = flag('samples', 2000);
const fresh = process.argv.includes('--fresh');

const url = await benchDatabase('rtrec_bench_rec', { keep: !fresh });
const pool = createPool(url, connections + 2);
const db = createPrisma(url);
const logger = createLogger('warn');
const services = createServices({ config: loadConfig({ LOG_LEVEL: 'warn' }), logger, databaseUrl: url, db, pool });
process.stdout.write(`node ${process.version}, ${(await import('node:os')).cpus().length} cores, database ${new URL(url).host}\n`);

const {
  rows: [count],
} = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM behavior_events');
if (Number(count!.n) === 0) {
  process.stdout.write('building the data set (generate + 30 simulated days, about a minute)…\n');
  await generateData(pool, { categories: 30, products: 3000, customers: 5000, seed: 7 });
  const deps = { db, pool, storefront: services.storefront, logger, recommender: services.recommender };
  await (await startSimulation(deps, { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 3000, historicalDays: 30, seed: 1 })).done;
}
// The features as Flink would hold them now, in the live tables the API reads.
await replaceFeaturesAsOf(pool, new Date());
const sizes = await pool.query<{ t: string; n: string }>(FEATURE_TABLES.map((t) => `SELECT '${t}' AS t, count(*)::text AS n FROM ${t}`).join(' UNION ALL '));
line('feature rows', sizes.rows.map((r) => `${r.t} ${Number(r.n).toLocaleString('en')}`).join(', '));
// What `rtrec train` stores (learned neighbours, fitted ranker weights): serving is measured with the trained model.
const training = await trainServed(pool, services.recommenderOn, { maxCustomers: 2000 });
line(
  'rtrec train',
  `${training.neighbours.rows.toLocaleString('en')} neighbour rows in ${training.neighbours.seconds.toFixed(1)} s; ranker on ${training.ranker.cases} validation cases in ${training.ranker.seconds.toFixed(1)} s, HR@10 ${training.ranker.fitted.hr.toFixed(3)} (defaults ${training.ranker.defaults.hr.toFixed(3)}); weights ${JSON.stringify(training.ranker.ranker)}`,
);

const { rows: customerRows } = await pool.query<{ id: number }>('SELECT customer_id AS id FROM customers ORDER BY customer_id');
const rng = createRng(42);
const maxCustomer = customerRows[customerRows.length - 1]!.id;
/** A random customer; one in ten has never been seen (cold start). */
const someCustomer = () =>
  rng.next() < 0.1 ? maxCustomer + 1 + Math.floor(rng.next() * 1000) : customerRows[Math.floor(rng.next() * customerRows.length)]!.id;

const { recommender } = services;
async function timed(fn: () => Promise<unknown>, n: number, parallel: number): Promise<number[]> {
  const times: number[] = [];
  let left = n;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (left-- > 0) {
        const start = performance.now();
        await fn();
        times.push(performance.now() - start);
      }
    }),
  );
  return times.sort((a, b) => a - b);
}
const fmt = (t: number[]) => `${percentile(t, 50).toFixed(2)} / ${percentile(t, 95).toFixed(2)} / ${percentile(t, 99).toFixed(2)}`;

await timed(() => recommender.recommend(someCustomer()), 200, 1); // warm-up: plans, caches
process.stdout.write(`\n## Server-side time of one call (ms, p50 / p95 / p99), ${samples} calls\n`);
const lookup = (parallel: number) =>
  timed(() => pool.query({ name: 'bench-customer', text: 'SELECT * FROM customers WHERE customer_id = $1', values: [someCustomer()] }), samples, parallel);
const base1 = await lookup(1);
const rec1 = await timed(() => recommender.recommend(someCustomer()), samples, 1);
line('baseline: customer by primary key, sequential', fmt(base1));
line('recommendations(first: 10), sequential', fmt(rec1));
const baseN = await lookup(connections);
const recN = await timed(() => recommender.recommend(someCustomer()), samples, connections);
line(`baseline: customer by primary key, ${connections} concurrent`, fmt(baseN));
line(`recommendations(first: 10), ${connections} concurrent`, fmt(recN));
await pool.end();

const active = customerRows.slice(0, 1000).map((c) => c.id);
let turn = 0;
// As a client sends it: one document, the customer as a variable.
const RECS = 'query Recs($customerId: Int!) { recommendations(customerId: $customerId, first: 10) { productId score reason } }';
const recsFor = (id: number) => ({ query: RECS, variables: { customerId: id } });
process.stdout.write(`\n## GraphQL over HTTP: ${connections} connections, ${seconds} s each, server in its own process\n`);
for (const [label, ttl, query] of [
  ['no cache (RECOMMEND_CACHE_TTL_MS=0), random customers', '0', () => recsFor(someCustomer())],
  ['cache (default), 1,000 active customers in turn', '30000', () => recsFor(active[turn++ % active.length]!)],
] as const) {
  const server = await startServer(url, { RECOMMEND_CACHE_TTL_MS: ttl });
  try {
    process.stdout.write(`### ${label}\n`);
    await againstNoop(server, query, 'recommendations(first: 10)', seconds, connections);
  } finally {
    await server.stop();
  }
}
process.exit(0);
