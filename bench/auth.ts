import autocannon from 'autocannon';
import { tokenServiceFor } from '../src/app/context.js';
import { loadConfig } from '../src/config/env.js';
import { createPool } from '../src/database/database.js';
import { FEATURE_TABLES } from '../src/database/privileges.js';
import { inTransaction } from '../src/database/transaction.js';
import { generateData } from '../src/datagen/generate.js';
import { createLogger } from '../src/logging/logger.js';
import { buildFeaturesAsOf } from '../src/recommend/features-sql.js';
import { startSimulation } from '../src/simulator/runs.js';
import { benchDatabase, flag, line, startServer } from './lib.js';

const seconds = flag('seconds', 10);
/** Customers asked in turn; each list is computed once while warming up, then served from the cache. */
const active = flag('customers', 200);
const connections = flag('connections', 8);
const baseAt = process.argv.indexOf('--base');
const baseDir = baseAt >= 0 ? process.argv[baseAt + 1] : undefined;
if (!baseDir) throw new Error('usage: bench/auth.ts --base <checkout of a commit before authentication, with node_modules>');

const url = await benchDatabase('rtrec_bench_auth', { keep: true });
const pool = createPool(url, 4);
const {
  rows: [count],
} = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM behavior_events');
if (count!.n === 0) {
  process.stdout.write('building the data set (generate + 7 simulated days)…\n');
  await generateData(pool, { categories: 20, products: 1000, customers: 2000, seed: 7 });
  const { createServices } = await import('../src/app/context.js');
  const { createPrisma } = await import('../src/database/database.js');
  const db = createPrisma(url);
  const logger = createLogger('warn');
  const services = createServices({ config: loadConfig({ LOG_LEVEL: 'warn' }), logger, databaseUrl: url, db, pool });
  const deps = { db, pool, storefront: services.storefront, logger, recommender: services.recommender };
  await (await startSimulation(deps, { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 1500, historicalDays: 7, seed: 1 })).done;
}
await buildFeaturesAsOf(pool, 'rtrec_bench_auth_features', new Date());
await inTransaction(pool, async (client) => {
  for (const table of FEATURE_TABLES) {
    await client.query(`TRUNCATE ${table}`);
    await client.query(`INSERT INTO ${table} SELECT * FROM rtrec_bench_auth_features.${table}`);
  }
});
const customers = (await pool.query<{ id: number }>(`SELECT customer_id AS id FROM customers ORDER BY customer_id LIMIT ${active}`)).rows.map((r) => r.id);
await pool.end();

const secret = 'rtrec-bench-auth-secret-0123456789abcdef';
const tokens = tokenServiceFor(loadConfig({ AUTH_SECRET: secret }));
const admin = await tokens.sign({ role: 'admin' }, 3600);
const service = await tokens.sign({ role: 'service' }, 3600);
const customerTokens = await Promise.all(customers.map((id) => tokens.sign({ role: 'customer', customerId: id }, 3600)));

// A TTL longer than the run: every list stays cached (a customer's own action would refresh it; none acts here).
/** This branch's or the base checkout's server on the bench database. */
const serve = (root: string) => startServer(url, { AUTH_SECRET: secret, RECOMMEND_CACHE_TTL_MS: '3600000' }, root);

const RECS = 'query Recs($customerId: Int!) { recommendations(customerId: $customerId, first: 10) { productId score reason } }';

/** requests/s of `body(i)` with `auth(i)` (the i-th request's Authorization, or none). */
async function rps(base: string, body: (i: number) => string, auth: (i: number) => string | undefined, duration = seconds): Promise<number> {
  let i = 0;
  const result = await autocannon({
    url: `${base}/graphql`,
    method: 'POST',
    connections,
    duration,
    requests: [
      {
        setupRequest: (req: autocannon.Request) => {
          const n = i++;
          const authorization = auth(n);
          return { ...req, headers: { 'content-type': 'application/json', ...(authorization && { authorization }) }, body: body(n) };
        },
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx responses and ${result.errors} errors`);
  return result.requests.average;
}

const noop = () => JSON.stringify({ query: '{ __typename }' });
const recs = (i: number) => JSON.stringify({ query: RECS, variables: { customerId: customers[i % customers.length] } });
const bearer = (t: string) => `Bearer ${t}`;

const results: Record<string, number> = {};
// Base, branch, base, branch: the second round of each is reported, after the machine has warmed up.
for (const [label, root] of [
  ['base (no authentication)', baseDir],
  ['this branch', process.cwd()],
  ['base (no authentication)', baseDir],
  ['this branch', process.cwd()],
] as const) {
  const server = await serve(root);
  try {
    // Warm-up: every customer's list into the cache (one request each), every token into the verifier's cache.
    for (const [i, id] of customers.entries()) {
      const response = await fetch(`${server.base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: bearer(customerTokens[i]!) },
        body: JSON.stringify({ query: RECS, variables: { customerId: id } }),
      });
      if (!response.ok) throw new Error(`warm-up: ${response.status} ${await response.text()}`);
    }
    await rps(server.base, noop, () => undefined, 2);
    results[`${label}: no-op`] = await rps(server.base, noop, () => undefined);
    if (root !== baseDir) results[`${label}: no-op, admin token`] = await rps(server.base, noop, () => bearer(admin));
    results[`${label}: cached recommendations`] = await rps(server.base, recs, (i) =>
      root === baseDir ? undefined : bearer(customerTokens[i % customers.length]!),
    );
    if (root !== baseDir) results[`${label}: cached recommendations, service token`] = await rps(server.base, recs, () => bearer(service));
  } finally {
    await server.stop();
  }
}
process.stdout.write(`\n## Authentication cost: ${connections} connections, ${seconds} s each\n`);
for (const [label, value] of Object.entries(results)) line(`${label}: requests/s`, Math.round(value).toLocaleString('en'));
const ratio = (a: string, b: string) => `${((results[a]! / results[b]!) * 100).toFixed(0)}%`;
line('no-op with admin token / base no-op', ratio('this branch: no-op, admin token', 'base (no authentication): no-op'));
line('cached recommendations (customer tokens) / base', ratio('this branch: cached recommendations', 'base (no authentication): cached recommendations'));
line(
  'cached recommendations (service token) / base',
  ratio('this branch: cached recommendations, service token', 'base (no authentication): cached recommendations'),
);
process.exit(0);
