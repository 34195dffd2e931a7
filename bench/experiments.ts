/**
 * Experiments and merchandising rules (not a timed test): what issue 14 asks to measure.
 *
 *   npm run bench:experiments -- [--part rules|power|aa|all] [--samples 2000] [--chunk 5] [--power-sessions 100]
 *                                [--power-seeds 3] [--aa-runs 4] [--aa-sessions 600] [--aa-salts 100] [--fresh]
 *
 * Data: 10 categories, 400 products, 1,000 customers and 14 simulated days of 400 sessions/day (database
 * rtrec_bench_exp, kept between runs; --fresh rebuilds it). The features Flink maintains are computed by their SQL
 * definitions (src/recommend/features-sql.ts), so no Kafka or Flink runs: the bench measures serving, the
 * simulator's closed loop and the statistics.
 *
 *   rules  serving time of one list (experiments.serve, what recommendations computes on a cache miss) with no rule
 *          against the same call with five rules in force (filter a category, boost new arrivals, bury a price range,
 *          boost low stock, pin a product): calls interleaved customer by customer, p50 / p99 and their differences.
 *   power  a running experiment, control = random, variant = ours, fed by the simulator's shoppers
 *          (--recommender experiment) in chunks of --chunk sessions up to --power-sessions; after each chunk the
 *          per-variant counts are recounted in SQL (the Flink job's definition) and P(ours beats random) computed: the
 *          sessions at which it first reaches 0.95, its lowest value after that, and its value at the end, per seed.
 *   aa     the A/A false-positive rate of the decision rule (flag a winner when P ≥ 0.95 at the planned end). Each of
 *          --aa-runs independent simulations (seeds) shows every shopper the same recommender (ours); then each of
 *          --aa-salts experiment ids splits the customers into two identical arms with the real sticky assignment
 *          (assignment.ts), and the statistic is computed on each split's recorded impressions and clicks.
 */
import { performance } from 'node:perf_hooks';
import { createServices } from '../src/app/context.js';
import { createRng } from '../src/common/random.js';
import { loadConfig } from '../src/config/env.js';
import { createPool, createPrisma } from '../src/database/database.js';
import { generateData } from '../src/datagen/generate.js';
import { assignVariant } from '../src/experiments/assignment.js';
import { createExperiments } from '../src/experiments/experiments.js';
import { recountResults } from '../src/experiments/results.js';
import { probabilityToBeatControl, WIN_PROBABILITY } from '../src/experiments/statistics.js';
import { createLogger } from '../src/logging/logger.js';
import { replaceFeaturesAsOf } from '../src/recommend/features-sql.js';
import { startSimulation } from '../src/simulator/runs.js';
import { benchDatabase, flag, line, percentile } from './lib.js';

const args = process.argv.slice(2);
const part = args.includes('--part') ? args[args.indexOf('--part') + 1]! : 'all';
const samples = flag('samples', 2000);
const chunk = flag('chunk', 5);
const maxSessions = flag('power-sessions', 100);
const powerSeeds = flag('power-seeds', 3);
const aaRuns = flag('aa-runs', 4);
const aaSessions = flag('aa-sessions', 600);
const aaSalts = flag('aa-salts', 100);
const fresh = args.includes('--fresh');

const url = await benchDatabase('rtrec_bench_exp', { keep: !fresh });
const pool = createPool(url, 12);
const db = createPrisma(url);
const logger = createLogger('warn');
const services = createServices({ config: loadConfig({ LOG_LEVEL: 'warn' }), logger, databaseUrl: url, db, pool });
process.stdout.write(`node ${process.version}, ${(await import('node:os')).cpus().length} cores, database ${new URL(url).host}\n`);
const simDeps = { db, pool, storefront: services.storefront, logger, recommender: services.recommender, experiments: services.experiments };

const {
  rows: [count],
} = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM behavior_events');
if (Number(count!.n) === 0) {
  process.stdout.write('building the data set (generate + 14 simulated days)…\n');
  await generateData(pool, { categories: 10, products: 400, customers: 1000, seed: 7 });
  await (await startSimulation(simDeps, { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 400, historicalDays: 14, seed: 1 })).done;
}
await replaceFeaturesAsOf(pool, new Date());
for (const e of await db.experiment.findMany({ where: { status: 'running' } })) await services.experiments.stop(e.experimentId);
for (const r of await services.merchandising.list()) await services.merchandising.delete(r.ruleId);

const customers = (await pool.query<{ id: number }>('SELECT customer_id AS id FROM customers ORDER BY customer_id')).rows.map((r) => r.id);
const live = { sessions: 1, durationMinutes: 0.2, speed: 10_000, concurrency: 6, sessionsPerDay: 1, recommendations: 6 };

if (part === 'rules' || part === 'all') {
  // The same serving with and without the merchandising service: rules in the database apply to the first only.
  const bare = createExperiments({ db, pool, recommender: services.recommender, logger });
  const withRules = services.experiments;
  const m = services.merchandising;
  const cat = (await pool.query<{ id: number }>('SELECT category_id AS id FROM categories ORDER BY category_id LIMIT 1')).rows[0]!.id;
  const pinned = (await pool.query<{ id: number }>('SELECT product_id AS id FROM products WHERE is_active AND stock > 0 ORDER BY product_id DESC LIMIT 1'))
    .rows[0]!.id;
  await m.create({ name: 'bench filter', action: 'filter', categoryId: cat });
  await m.create({ name: 'bench new', action: 'boost', newWithinDays: 30, factor: 2 });
  await m.create({ name: 'bench bury', action: 'bury', minPrice: 500, maxPrice: 2000, factor: 0.5 });
  await m.create({ name: 'bench clearance', action: 'boost', maxStock: 10, factor: 1.5 });
  await m.create({ name: 'bench pin', action: 'pin', productId: pinned, position: 3 });
  const rng = createRng(11);
  const pick = () => customers[Math.floor(rng.next() * customers.length)]!;
  const plain: number[] = [];
  const ruled: number[] = [];
  /** The part of the cost that is reading twice the candidates (no rule applied): the same call asking for 20. */
  const doubled: number[] = [];
  for (let i = 0; i < 200; i++) {
    const c = pick();
    await bare.serve(c, { first: 10 });
    await withRules.serve(c, { first: 10 });
  }
  for (let i = 0; i < samples; i++) {
    const c = pick();
    // Alternate which goes first, so neither gets the other's warm cache every time.
    const order = i % 2 === 0 ? ([bare, plain, withRules, ruled] as const) : ([withRules, ruled, bare, plain] as const);
    let t = performance.now();
    await order[0].serve(c, { first: 10 });
    order[1].push(performance.now() - t);
    t = performance.now();
    await order[2].serve(c, { first: 10 });
    order[3].push(performance.now() - t);
    t = performance.now();
    await bare.serve(c, { first: 20 });
    doubled.push(performance.now() - t);
  }
  doubled.sort((a, b) => a - b);
  plain.sort((a, b) => a - b);
  ruled.sort((a, b) => a - b);
  process.stdout.write(`\n## Serving one list of 10 (ms), ${samples} customers, each served both ways, sequential\n`);
  line('no rules: p50 / p99', `${percentile(plain, 50).toFixed(2)} / ${percentile(plain, 99).toFixed(2)}`);
  line('5 rules in force: p50 / p99', `${percentile(ruled, 50).toFixed(2)} / ${percentile(ruled, 99).toFixed(2)}`);
  line('no rules, 20 candidates read: p50 / p99', `${percentile(doubled, 50).toFixed(2)} / ${percentile(doubled, 99).toFixed(2)}`);
  line(
    'added by the rules: p50 / p99',
    `${(percentile(ruled, 50) - percentile(plain, 50)).toFixed(2)} / ${(percentile(ruled, 99) - percentile(plain, 99)).toFixed(2)}`,
  );
  for (const r of await m.list()) await m.delete(r.ruleId);
  await bare.close();
}

if (part === 'power' || part === 'all') {
  process.stdout.write(`\n## Ours (variant) against random (control), ${chunk} sessions per chunk, up to ${maxSessions} sessions\n`);
  for (let seed = 1; seed <= powerSeeds; seed++) {
    const e = await services.experiments.create({
      name: `bench ours vs random ${Date.now()}-${seed}`,
      variants: [
        { name: 'random', recommender: 'random', weight: 1 },
        { name: 'ours', recommender: 'ours', weight: 1 },
      ],
    });
    await services.experiments.start(e.experimentId);
    let reached: number | undefined;
    let lowestAfter = 1;
    let done = 0;
    let p = 0;
    let counts = await recountResults(pool, e.experimentId);
    const trace: string[] = [];
    while (done < maxSessions) {
      await (await startSimulation(simDeps, { ...live, sessions: chunk, seed: seed * 100_000 + done, recommender: 'experiment' })).done;
      done += chunk;
      counts = await recountResults(pool, e.experimentId);
      p = probabilityToBeatControl(counts[0]!, counts[1]!);
      trace.push(`${done}:${p.toFixed(3)}`);
      if (p >= WIN_PROBABILITY && reached === undefined) reached = done;
      if (reached !== undefined) lowestAfter = Math.min(lowestAfter, p);
    }
    await services.experiments.stop(e.experimentId);
    const ctr = (c: { impressions: number; clicks: number }) => `${c.clicks}/${c.impressions} = ${((100 * c.clicks) / Math.max(1, c.impressions)).toFixed(2)}%`;
    line(
      `seed ${seed}: first ≥ 0.95 after`,
      `${reached === undefined ? `not within ${maxSessions}` : `${reached} sessions (lowest after: ${lowestAfter.toFixed(4)})`}; at ${done} sessions P = ${p.toFixed(6)}; CTR random ${ctr(counts[0]!)}, ours ${ctr(counts[1]!)}`,
    );
    line('  trace (sessions:P)', trace.join(' '));
  }
}

if (part === 'aa' || part === 'all') {
  process.stdout.write(`\n## A/A: ${aaRuns} simulations × ${aaSessions} sessions (ours shown to all), each split by ${aaSalts} experiment ids\n`);
  let flagged = 0;
  let either = 0;
  let total = 0;
  for (let run = 1; run <= aaRuns; run++) {
    const started = await startSimulation(simDeps, { ...live, sessions: aaSessions, seed: 900_000 + run, recommender: 'ours' });
    await started.done;
    const { rows } = await pool.query<{ customer_id: number; impressions: number; clicks: number }>(
      `SELECT customer_id, count(*) FILTER (WHERE event_type = 'recommendation_impression')::int AS impressions,
              count(*) FILTER (WHERE event_type = 'recommendation_click')::int AS clicks
       FROM behavior_events WHERE context->>'runId' = $1 AND event_type IN ('recommendation_impression', 'recommendation_click') GROUP BY customer_id`,
      [started.runId],
    );
    let runFlagged = 0;
    for (let salt = 1; salt <= aaSalts; salt++) {
      const arms = [
        { impressions: 0, clicks: 0 },
        { impressions: 0, clicks: 0 },
      ];
      for (const r of rows) {
        const arm = arms[assignVariant(1_000_000 * run + salt, r.customer_id, [1, 1])]!;
        arm.impressions += r.impressions;
        arm.clicks += r.clicks;
      }
      const p = probabilityToBeatControl(arms[0]!, arms[1]!);
      if (p >= WIN_PROBABILITY) {
        flagged++;
        runFlagged++;
      }
      if (p >= WIN_PROBABILITY || p <= 1 - WIN_PROBABILITY) either++;
      total++;
    }
    const imps = rows.reduce((a, r) => a + r.impressions, 0);
    const clicks = rows.reduce((a, r) => a + r.clicks, 0);
    line(`run ${run}: ${rows.length} customers, ${imps} impressions, ${clicks} clicks`, `${runFlagged} of ${aaSalts} splits flag the variant`);
  }
  const rate = flagged / total;
  const z = 1.96;
  const wilson = (k: number, n: number) => {
    const p = k / n;
    const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
    const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
    return `${(100 * (centre - half)).toFixed(1)}–${(100 * (centre + half)).toFixed(1)}%`;
  };
  line('A/A splits flagging the variant (P ≥ 0.95)', `${flagged} of ${total} = ${(100 * rate).toFixed(1)}% (95% CI ${wilson(flagged, total)})`);
  line('either arm flagged (P ≥ 0.95 or ≤ 0.05)', `${either} of ${total} = ${((100 * either) / total).toFixed(1)}% (95% CI ${wilson(either, total)})`);
}

await services.close();
await db.$disconnect();
await pool.end();
