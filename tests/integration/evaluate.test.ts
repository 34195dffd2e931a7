import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateData } from '../../src/datagen/generate.js';
import { type EvaluationReport, evaluate } from '../../src/recommend/evaluation/evaluate.js';
import { startSimulation } from '../../src/simulator/runs.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
/** The served recommender, watched: the evaluation's ours must be made through it. */
const servedOn = vi.fn((pool: Parameters<TestDatabase['services']['recommenderOn']>[0]) => t.services.recommenderOn(pool));
const evaluationDeps = () => ({ db: t.db, pool: t.pool, recommenders: t.services.evaluationRecommenders, servedOn });
let dir: string;
const env = () => ({ DATABASE_URL: t.url });
const importedCount = async () => Number((await t.pool.query<{ n: string }>('SELECT count(*) n FROM imported_events')).rows[0]!.n);

beforeAll(async () => {
  t = await createTestDatabase('eval');
  dir = mkdtempSync(join(tmpdir(), 'rtrec-eval-'));
  await generateData(t.pool, { categories: 10, products: 150, customers: 150, seed: 3 });
  const run = await startSimulation(
    { db: t.db, pool: t.pool, storefront: t.storefront, logger: t.logger, recommender: t.recommender },
    {
      sessions: 1,
      durationMinutes: 1,
      speed: 1,
      concurrency: 1,
      sessionsPerDay: 300,
      historicalDays: 20,
      seed: 4,
      until: new Date('2026-06-30T00:00:00Z'),
    },
  );
  await run.done;
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t.drop();
});

describe('evaluate on a simulated shop history', () => {
  let report: EvaluationReport;
  beforeAll(async () => {
    report = await evaluate(evaluationDeps(), { source: 'shop', split: 'time', k: 10, recallK: 20, seed: 1 });
  });

  it('scores ours and the three baselines on one split, then the oracle reference row', () => {
    expect(report.rows.map((r) => r.recommender)).toEqual(['ours', 'most-popular', 'item-knn', 'ease', 'ials', 'random', 'oracle (ground truth)']);
    expect(report.unavailable).toEqual([]);
    expect(report.evaluatedUsers).toBeGreaterThan(50);
    expect(report.catalogueSize).toBe(150);
    for (const row of report.rows) {
      for (const value of [row.hitRate, row.ndcg, row.recall, row.coverage]) {
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(1);
      }
    }
  });

  it("fits ours' ranker on the train part and reports its weights and validation figures", () => {
    const ours = report.rows.find((r) => r.recommender === 'ours')!;
    expect(ours.ranker).toBeDefined();
    expect(ours.ranker!.validation.cases).toBeGreaterThan(30);
    expect(ours.ranker!.validation.fitted.hr + ours.ranker!.validation.fitted.ndcg).toBeGreaterThanOrEqual(
      ours.ranker!.validation.defaults.hr + ours.ranker!.validation.defaults.ndcg,
    );
    expect(report.rows.filter((r) => r.ranker).map((r) => r.recommender)).toEqual(['ours']);
  });

  it('evaluates ours as the served recommender (made by the composition root, with its options)', () => {
    expect(servedOn).toHaveBeenCalled();
    for (const result of servedOn.mock.results) expect((result.value as { options: unknown }).options).toEqual(t.recommender.options);
  });

  it('item-knn beats random on every ranking metric', () => {
    const [knn, random] = ['item-knn', 'random'].map((name) => report.rows.find((r) => r.recommender === name));
    expect(knn!.hitRate).toBeGreaterThan(random!.hitRate);
    expect(knn!.ndcg).toBeGreaterThan(random!.ndcg);
    expect(knn!.recall).toBeGreaterThan(random!.recall);
  });

  it('the oracle, ranking by the hidden tastes the shoppers chose with, beats random by far and most-popular', () => {
    // On this fixture random lists hit often (150 products, several held-out items per user), so the wide margins are in NDCG and recall.
    const [popular, random, oracle] = ['most-popular', 'random', 'oracle (ground truth)'].map((name) => report.rows.find((r) => r.recommender === name));
    expect(oracle!.hitRate).toBeGreaterThan(2 * random!.hitRate);
    expect(oracle!.ndcg).toBeGreaterThan(4 * random!.ndcg);
    expect(oracle!.recall).toBeGreaterThan(3 * random!.recall);
    // Popularity alone is what a taste-blind oracle would rank by.
    expect(oracle!.hitRate).toBeGreaterThan(popular!.hitRate);
    expect(oracle!.ndcg).toBeGreaterThan(1.5 * popular!.ndcg);
  });

  it('the CLI prints the table with HR@10, NDCG@10, Recall@20 and coverage in that order, and the same figures as JSON', async () => {
    const text = await runCli(['evaluate'], env());
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/recommender\s+HR@10\s+NDCG@10\s+Recall@20\s+coverage\n/);
    expect(text.stdout).toMatch(/^ours\s+0\.\d{4}/m);
    expect(text.stdout).toMatch(/^random\s+0\.\d{4}.*\noracle \(ground truth\)\s+0\.\d{4}/m);
    const json = await runCli(['evaluate', '--json'], env());
    expect(json.code, json.stderr).toBe(0);
    const cli = JSON.parse(json.stdout) as EvaluationReport;
    expect(cli.rows.map(({ elapsedMs, ...metrics }) => metrics)).toEqual(report.rows.map(({ elapsedMs, ...metrics }) => metrics));
  });

  it('runs a leave-last-out split too, with one held-out moment per user, ours included', async () => {
    const llo = await evaluate(evaluationDeps(), { source: 'shop', split: 'leave-last-out', k: 10, recallK: 20, seed: 1 });
    expect(llo.cutoff).toBeNull();
    expect(llo.evaluatedUsers).toBeGreaterThan(0);
    expect(llo.rows.map((r) => r.recommender)).toEqual(['ours', 'most-popular', 'item-knn', 'ease', 'ials', 'random', 'oracle (ground truth)']);
    const row = (name: string) => llo.rows.find((r) => r.recommender === name)!;
    for (const name of ['ours', 'item-knn', 'ease', 'ials']) expect(row(name).ndcg, name).toBeGreaterThan(row('random').ndcg);
  });

  it('runs a session split (next new item of a visit), ours and the chosen rows only', async () => {
    const session = await evaluate(evaluationDeps(), { source: 'shop', split: 'session', k: 10, recallK: 20, seed: 1, recommenders: ['ours', 'random'] });
    expect(session.split).toBe('session');
    expect(session.evaluatedUsers).toBeGreaterThan(10);
    expect(session.rows.map((r) => r.recommender)).toEqual(['ours', 'random']);
    // Fitted on the session protocol over earlier visits (a few dozen here; quality is checked on the log below).
    expect(session.rows[0]!.ranker!.validation.cases).toBeGreaterThanOrEqual(20);
    await expect(evaluate(evaluationDeps(), { source: 'shop', split: 'session', k: 10, recallK: 20, seed: 1, recommenders: ['nope'] })).rejects.toThrow(
      /Unknown recommender nope in --recommenders: choose from ours, most-popular/,
    );
  });

  it('refuses bad options with exit code 2 and the fix', async () => {
    const gap = await runCli(['evaluate', '--session-gap', '10'], env());
    expect(gap.code).toBe(2);
    expect(gap.stderr).toMatch(/--session-gap applies to the session split only/);
    const names = await runCli(['evaluate', '--recommenders', 'ours,,x y'], env());
    expect(names.code).toBe(2);
    expect(names.stderr).toMatch(/expected comma-separated names/);
    const k = await runCli(['evaluate', '--k', '0'], env());
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/--k <n>.*must be from 1 to 1000/);
    const cutoff = await runCli(['evaluate', '--cutoff', '2020-01-01'], env());
    expect(cutoff.code).toBe(2);
    expect(cutoff.stderr).toMatch(/outside the history/);
    const split = await runCli(['evaluate', '--split', 'random'], env());
    expect(split.code).toBe(2);
    expect(split.stderr).toMatch(/Allowed choices are time, leave-last-out/);
  });
});

/**
 * Two taste clusters of five items each: every user views four items of their cluster in the first days and
 * buys the fifth on the last day; fifty filler items are seen once each, so a random list rarely hits.
 */
/**
 * Visits: each of 40 users views the four items of their cluster in one visit, ten minutes apart, starting at a
 * different item each (so every item is someone's last); fifty filler items are seen once each. The last view
 * of a visit is new to the user and was viewed with the others in other users' visits.
 */
function sessionLog(): string {
  const lines = ['visitor,"product id",action,when'];
  for (let u = 0; u < 40; u++) {
    const cluster = u % 2 === 0 ? 'a' : 'b';
    const start = Date.UTC(2026, 2, 1 + (u % 20), 8 + (u % 10));
    for (let k = 0; k < 4; k++) lines.push(`u${u},${cluster}${(k + (u >> 1)) % 4},view,${new Date(start + k * 600_000).toISOString()}`);
  }
  for (let f = 0; f < 50; f++) lines.push(`filler${f},x${f},view,2026-03-02T12:00:00Z`);
  return `${lines.join('\n')}\n`;
}

function clusteredLog(): string {
  const lines = ['visitor,"product id",action,when'];
  const day = (d: number, h: number) => `2026-03-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`;
  for (let u = 0; u < 40; u++) {
    const cluster = u % 2 === 0 ? 'a' : 'b';
    const held = (u >> 1) % 5;
    for (let i = 0, n = 0; i < 5; i++) if (i !== held) lines.push(`u${u},${cluster}${i},view,${day(1 + n++, u % 24)}`);
    lines.push(`u${u},${cluster}${held},buy,${day(10, u % 24)}`);
  }
  for (let f = 0; f < 50; f++) lines.push(`filler${f},x${f},view,${day(2, 12)}`);
  lines.push(`u0,a1,remove,${day(3, 0)}`);
  return `${lines.join('\n')}\n`;
}

describe('import events from a CSV log', () => {
  const map = [
    '--evaluation-only',
    '--map',
    'user=visitor,item=product id,type=action,timestamp=when',
    '--types',
    'view=view_product,buy=purchase,remove=skip',
  ];

  it('loads the log and evaluates it the same way', async () => {
    const file = join(dir, 'clusters.csv');
    writeFileSync(file, clusteredLog());
    const imported = await runCli(['import', 'events', '--csv', file, ...map, '--json'], env());
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ rows: 250, skipped: 1, byType: { view_product: 210, purchase: 40 } });
    expect(await importedCount()).toBe(250);

    const evaluated = await runCli(['evaluate', '--source', 'imported', '--json'], env());
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const report = JSON.parse(evaluated.stdout) as EvaluationReport;
    expect(report).toMatchObject({ source: 'imported', evaluatedUsers: 40, heldOutItems: 40, catalogueSize: 60 });
    const row = (name: string) => report.rows.find((r) => r.recommender === name)!;
    expect(row('item-knn').hitRate).toBe(1);
    expect(row('item-knn').hitRate).toBeGreaterThan(row('random').hitRate);
    expect(report.unavailable).toEqual([
      { recommender: 'ours', reason: expect.stringMatching(/cannot be evaluated on --source imported/) },
      { recommender: 'oracle (ground truth)', reason: expect.stringMatching(/cannot be evaluated on --source imported/) },
    ]);
  });

  it('--replace swaps the earlier log for the new one in one transaction', async () => {
    const file = join(dir, 'small.csv');
    writeFileSync(file, 'visitor,product id,action,when\nz1,p1,view,1433221332117\nz1,p2,buy,1433221400\n');
    const result = await runCli(['import', 'events', '--csv', file, ...map, '--replace', '--json'], env());
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ rows: 2, replaced: 250, totalImported: 2 });
    const { rows } = await t.pool.query('SELECT user_key, item_key, event_type, occurred_at FROM imported_events ORDER BY occurred_at');
    expect(rows).toEqual([
      { user_key: 'z1', item_key: 'p1', event_type: 'view_product', occurred_at: new Date(1433221332117) },
      { user_key: 'z1', item_key: 'p2', event_type: 'purchase', occurred_at: new Date(1433221400_000) },
    ]);
  });

  it('a bad timestamp on line N exits 2 naming the line and column, and imports nothing (even after thousands of good rows)', async () => {
    const before = await importedCount();
    const good = Array.from({ length: 3000 }, (_, i) => `v${i % 97},p${i % 31},view,2026-03-01T00:00:00Z`);
    const file = join(dir, 'bad-time.csv');
    writeFileSync(file, ['visitor,product id,action,when', ...good, 'v1,p1,view,31/12/2026'].join('\n'));
    const result = await runCli(['import', 'events', '--csv', file, ...map], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/line 3002, column "when" \(timestamp\): cannot read "31\/12\/2026"/);
    expect(result.stderr).toMatch(/nothing was imported/);
    expect(await importedCount()).toBe(before);
  });

  it('a mapped column missing from the header exits 2 naming it and the columns there are', async () => {
    const file = join(dir, 'no-when.csv');
    writeFileSync(file, 'visitor,product id,action\nv1,p1,view\n');
    const result = await runCli(['import', 'events', '--csv', file, ...map], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/column "when" \(mapped to timestamp\) is not in the header; the columns are "visitor", "product id", "action"/);
  });

  it('a missing file, an incomplete mapping and an unknown type value are refused with the fix', async () => {
    const missing = await runCli(['import', 'events', '--csv', join(dir, 'nope.csv'), ...map], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
    const file = join(dir, 'unknown-type.csv');
    writeFileSync(file, 'visitor,product id,action,when\nv1,p1,view,2026-03-01\nv1,p2,like,2026-03-01\n');
    const mapping = await runCli(['import', 'events', '--csv', file, '--map', 'user=visitor,item=product id'], env());
    expect(mapping.code).toBe(2);
    expect(mapping.stderr).toMatch(/type, timestamp are not mapped/);
    const type = await runCli(['import', 'events', '--csv', file, ...map], env());
    expect(type.code).toBe(2);
    expect(type.stderr).toMatch(/line 3, column "action" \(type\): unknown event type "like"; map it with --types like=/);
  });
});

describe('the oracle without the simulator’s tastes', () => {
  it('is reported unavailable with the reason instead of a made-up row', async () => {
    await t.pool.query('TRUNCATE sim_customer_tastes, sim_product_traits');
    const report = await evaluate(evaluationDeps(), { source: 'shop', split: 'leave-last-out', k: 10, recallK: 20, seed: 1 });
    expect(report.rows.map((r) => r.recommender)).toEqual(['ours', 'most-popular', 'item-knn', 'ease', 'ials', 'random']);
    expect(report.unavailable).toContainEqual({ recommender: 'oracle (ground truth)', reason: expect.stringMatching(/no ground truth.*sim_customer_tastes/) });
  });
});

describe('a log imported as shop history', () => {
  it('is evaluated like the shop’s own activity, ours included, on both splits', async () => {
    const shop = await createTestDatabase('evalimp');
    try {
      const file = join(dir, 'clusters-shop.csv');
      writeFileSync(file, clusteredLog());
      const map = ['--map', 'user=visitor,item=product id,type=action,timestamp=when', '--types', 'view=view_product,buy=purchase,remove=skip'];
      const imported = await runCli(['import', 'events', '--csv', file, ...map, '--json'], { DATABASE_URL: shop.url });
      expect(imported.code, imported.stderr).toBe(0);
      const deps = { db: shop.db, pool: shop.pool, recommenders: shop.services.evaluationRecommenders, servedOn: shop.services.recommenderOn };
      for (const split of ['time', 'leave-last-out'] as const) {
        const report = await evaluate(deps, { source: 'shop', split, k: 10, recallK: 20, seed: 1 });
        expect(report.evaluatedUsers, split).toBe(40);
        const row = (name: string) => report.rows.find((r) => r.recommender === name)!;
        expect(row('ours').hitRate, split).toBeGreaterThan(row('random').hitRate);
        expect(row('item-knn').hitRate, split).toBeGreaterThan(row('random').hitRate);
      }
      // Next item of a visit: what was viewed together with the visit's items in other visits.
      const visits = join(dir, 'visits.csv');
      writeFileSync(visits, sessionLog());
      const again = await runCli(['import', 'events', '--csv', visits, '--source', 'visits', ...map], { DATABASE_URL: shop.url });
      expect(again.code, again.stderr).toBe(0);
      const session = await evaluate(deps, { source: 'shop', split: 'session', k: 10, recallK: 20, seed: 1, recommenders: ['ours', 'most-popular', 'random'] });
      expect(session.evaluatedUsers).toBe(40);
      const row = (name: string) => session.rows.find((r) => r.recommender === name)!;
      expect(row('ours').ranker!.validation.cases).toBeGreaterThanOrEqual(20);
      expect(row('ours').hitRate).toBeGreaterThan(0.5);
      expect(row('ours').hitRate).toBeGreaterThan(row('most-popular').hitRate);
      expect(row('ours').ndcg).toBeGreaterThan(row('random').ndcg);
    } finally {
      await shop.drop();
    }
  });
});
