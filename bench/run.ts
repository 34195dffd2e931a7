/**
 * Benchmarks (not timed tests): each figure is printed next to a baseline measured in the same run on the
 * same machine, because these machines are noisy and ratios travel better than absolute times.
 *
 *   npm run bench                         # everything
 *   npm run bench -- historical [--days 30] [--sessions-per-day 3000]
 *   npm run bench -- graphql [--seconds 10] [--connections 20] [--base-root DIR]   (also: CPU per request of the server and PostgreSQL)
 */

import { createServices } from '../src/app/context.js';
import { loadConfig } from '../src/config/env.js';
import { createPool, createPrisma } from '../src/database/database.js';
import { generateData } from '../src/datagen/generate.js';
import { createLogger } from '../src/logging/logger.js';
import { startSimulation } from '../src/simulator/runs.js';
import { againstNoop, benchDatabase, flag, line, startServer } from './lib.js';

const args = process.argv.slice(2);
const which = args.find((a) => !a.startsWith('--') && Number.isNaN(Number(a))) ?? 'all';

async function historical(url: string) {
  const days = flag('days', 30);
  const perDay = flag('sessions-per-day', 3000);
  const db = createPrisma(url);
  const pool = createPool(url, 5);
  const logger = createLogger('warn');
  const { storefront, recommender } = createServices({ config: loadConfig({ LOG_LEVEL: 'warn' }), logger, databaseUrl: url, db, pool });
  const deps = { db, pool, storefront, logger, recommender };
  await generateData(pool, { categories: 30, products: 2000, customers: 2000, seed: 1 });
  process.stdout.write(`\n## Historical back-fill: ${days} days × ${perDay} sessions/day (30 categories, 2000 products, 2000 customers)\n`);
  const run = await startSimulation(deps, { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: perDay, historicalDays: days, seed: 7 });
  const summary = await run.done;
  const rows = Object.values(summary.rowsByTable).reduce((a, b) => a + b, 0);
  line('behaviour events written', summary.rowsByTable.behavior_events!.toLocaleString('en'));
  line('rows written (all tables)', rows.toLocaleString('en'));
  line('elapsed', `${(summary.elapsedMs / 1000).toFixed(1)} s`);
  line('back-fill throughput (rows/s)', Math.round(summary.rowsPerSecond).toLocaleString('en'));
  line('back-fill throughput (events/s)', Math.round(summary.rowsByTable.behavior_events! / (summary.elapsedMs / 1000)).toLocaleString('en'));

  // Baseline in the same run: the same shoppers through the per-action storefront (one transaction per action).
  const live = await startSimulation(deps, { sessions: 300, durationMinutes: 0, speed: 100_000, concurrency: 8, sessionsPerDay: 1, seed: 9 });
  const liveSummary = await live.done;
  const liveRows = Object.values(liveSummary.rowsByTable).reduce((a, b) => a + Math.max(0, b), 0);
  line('baseline: per-action transactions (rows/s)', Math.round(liveSummary.rowsPerSecond).toLocaleString('en'));
  line('baseline: rows written', liveRows.toLocaleString('en'));
  line('ratio back-fill / per-action', `${(summary.rowsPerSecond / liveSummary.rowsPerSecond).toFixed(1)}×`);
  await db.$disconnect();
  await pool.end();
}

async function graphql(url: string) {
  const seconds = flag('seconds', 10);
  const connections = flag('connections', 20);
  const pool = createPool(url, 2);
  const { rows } = await pool.query('SELECT count(*) n FROM orders');
  // A live shop's tables are autovacuumed; a freshly filled one is not yet (no visibility map, so every
  // count reads the heap). Both servers below read the same vacuumed database.
  await pool.query('VACUUM ANALYZE');
  await pool.end();
  if (Number(rows[0].n) === 0) throw new Error('run the historical benchmark first (it fills the bench database)');
  const { rows: ids } = await (async () => {
    const p = createPool(url, 1);
    try {
      return await p.query<{ max: number }>('SELECT max(order_id)::int AS max FROM orders');
    } finally {
      await p.end();
    }
  })();
  const maxOrder = ids[0]!.max;
  const list = '{ orders(first: 20, order: DESC) { totalCount edges { node { orderId orderDate status totalPrice customer { firstName lastName } } } } }';
  const nested =
    '{ orders(first: 20, order: DESC) { totalCount edges { node { orderId totalPrice customer { firstName lastName } items(first: 5) { totalCount edges { node { quantity price product { name category { name } } } } } } } } }';
  let next = 0;
  const lookup = () => ({
    query: 'query ($id: Int!) { order(orderId: $id) { orderId orderDate status totalPrice customer { firstName lastName } } }',
    variables: { id: 1 + (next++ % maxOrder) },
  });
  // --base-root DIR: the same queries against another checkout's server (e.g. the commit before a change), same database, same run.
  const baseRoot = args.includes('--base-root') ? args[args.indexOf('--base-root') + 1] : undefined;
  for (const [name, root] of [...(baseRoot ? [['base build', baseRoot] as const] : []), ['this build', undefined] as const]) {
    const server = await startServer(url, {}, root);
    try {
      process.stdout.write(`\n## GraphQL over HTTP (${name}): ${connections} connections, ${seconds} s each, server in its own process\n`);
      await againstNoop(server, list, 'list query orders(first: 20) + customer', seconds, connections);
      await againstNoop(server, lookup, 'lookup order(orderId:) + customer', seconds, connections);
      await againstNoop(server, nested, 'orders(first: 20) + customer + items(first: 5) + product + category', seconds, connections);
    } finally {
      await server.stop();
    }
    line('server error lines (request time and shutdown)', String(server.errorLines().length));
    for (const l of server.errorLines().slice(0, 5)) process.stdout.write(`  ${l.slice(0, 200)}\n`);
  }
}

const url = await benchDatabase('rtrec_bench');
process.stdout.write(`node ${process.version}, ${(await import('node:os')).cpus().length} cores, database ${new URL(url).host}\n`);
if (which === 'all' || which === 'historical') await historical(url);
if (which === 'all' || which === 'graphql') {
  if (which === 'graphql') {
    const pool = createPool(url, 2);
    await generateData(pool, { categories: 30, products: 2000, customers: 2000, seed: 1 });
    const db = createPrisma(url);
    const logger = createLogger('warn');
    const { storefront, recommender } = createServices({ config: loadConfig({ LOG_LEVEL: 'warn' }), logger, databaseUrl: url, db, pool });
    await (
      await startSimulation(
        { db, pool, storefront, logger, recommender },
        { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 1000, historicalDays: 10, seed: 7 },
      )
    ).done;
    await db.$disconnect();
    await pool.end();
  }
  await graphql(url);
}
process.exit(0);
