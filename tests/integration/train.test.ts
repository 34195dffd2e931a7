import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EASE_MODEL, NEIGHBOUR_MODEL } from '../../src/recommend/neighbours.js';
import { type RankerFeature, type RankerWeights, rankerOf } from '../../src/recommend/ranker.js';
import { SERVED_RANKER } from '../../src/recommend/serving.js';
import { saveRanker, timeValidationCases, trainServed, validationCases } from '../../src/recommend/train.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { simulatedShop } from '../helpers/history.js';

/*
 * `rtrec train` on a real database: the learned neighbours and the fitted weights it stores are what serving
 * reads (through rec_model_neighbours and rec_ranker), and the validation split it fits on is the one the
 * evaluation defines.
 */

let t: TestDatabase;
const only = (feature: RankerFeature) => rankerOf((f) => (f === feature ? 1 : 0));

beforeAll(async () => {
  t = await createTestDatabase('train');
  await simulatedShop(t, { categories: 8, products: 120, customers: 120, seed: 5 }, { sessionsPerDay: 200, days: 10, seed: 4 });
}, 180_000);
afterAll(() => t?.drop());

describe('the validation split of training', () => {
  it("holds out each customer's last wishlist/cart/purchase moment, minus what they had bought before", async () => {
    const w = await t.pool.query<{ customer_id: number; at: Date; items: number[] }>(`
      WITH actions AS (
        SELECT customer_id, product_id, occurred_at AS at, event_type IN ('add_to_cart', 'add_to_wishlist') AS positive FROM behavior_events
        WHERE customer_id IS NOT NULL AND product_id IS NOT NULL AND event_type IN ('view_product', 'add_to_cart', 'add_to_wishlist')
        UNION ALL SELECT o.customer_id, i.product_id, o.order_date, true FROM orders o JOIN order_items i USING (order_id)
      ), last AS (SELECT customer_id, max(at) AS at FROM actions WHERE positive GROUP BY 1)
      SELECT l.customer_id, l.at, array_agg(DISTINCT a.product_id ORDER BY a.product_id) AS items FROM last l
      JOIN actions a ON a.customer_id = l.customer_id AND a.at = l.at AND a.positive
      WHERE EXISTS (SELECT 1 FROM actions e WHERE e.customer_id = l.customer_id AND e.at < l.at)
        AND NOT EXISTS (SELECT 1 FROM orders o JOIN order_items i USING (order_id) WHERE o.customer_id = l.customer_id AND i.product_id = a.product_id AND o.order_date < l.at)
      GROUP BY 1, 2 ORDER BY 1`);
    const cases = await validationCases(t.pool, { asOf: new Date(), maxCustomers: 1_000_000 });
    expect(cases.length).toBeGreaterThan(30);
    expect(cases.map((c) => ({ customer_id: c.customerId, at: c.at, items: [...c.heldOut].sort((a, b) => a - b) }))).toEqual(w.rows);
    // A bound per customer moves their moment back; the sample is capped.
    const first = cases[0]!;
    const earlier = await validationCases(t.pool, { asOf: new Date(), bounds: new Map([[first.customerId, first.at]]), maxCustomers: 1_000_000 });
    const moved = earlier.find((c) => c.customerId === first.customerId);
    if (moved) expect(moved.at.getTime()).toBeLessThan(first.at.getTime());
    expect(await validationCases(t.pool, { asOf: new Date(), maxCustomers: 5 })).toHaveLength(5);
  });

  it("session protocol: each customer's last action when it continues a visit, its products new to them", async () => {
    const cases = await validationCases(t.pool, { asOf: new Date(), maxCustomers: 1_000_000, protocol: { kind: 'session', gapMinutes: 30 } });
    expect(cases.length).toBeGreaterThanOrEqual(5);
    for (const c of cases) {
      const { rows } = await t.pool.query<{ last: Date; previous: Date | null; seen: number[] }>(
        `WITH actions AS (
           SELECT product_id, occurred_at AS at FROM behavior_events WHERE customer_id = $1 AND product_id IS NOT NULL AND event_type IN ('view_product', 'add_to_cart', 'add_to_wishlist')
           UNION ALL SELECT i.product_id, o.order_date FROM orders o JOIN order_items i USING (order_id) WHERE o.customer_id = $1)
         SELECT max(at) AS last, (SELECT max(at) FROM actions WHERE at < (SELECT max(at) FROM actions)) AS previous,
                (SELECT array_agg(DISTINCT product_id) FROM actions WHERE at < (SELECT max(at) FROM actions)) AS seen FROM actions`,
        [c.customerId],
      );
      const r = rows[0]!;
      expect(c.at).toEqual(r.last);
      expect(r.last.getTime() - r.previous!.getTime()).toBeLessThanOrEqual(30 * 60_000);
      for (const item of c.heldOut) expect(r.seen).not.toContain(item);
    }
  });
});

describe('the time protocol of training', () => {
  it('holds out what each customer took in the last fifth of the history, from one moment, minus what they had bought before it', async () => {
    const asOf = new Date();
    const { at, cases } = await timeValidationCases(t.pool, { asOf, maxCustomers: 1_000_000, share: 0.2 });
    const { rows: span } = await t.pool.query<{ first: Date }>(
      'SELECT least((SELECT min(occurred_at) FROM behavior_events), (SELECT min(order_date) FROM orders)) AS first',
    );
    expect(at!.getTime()).toBe(Math.trunc(span[0]!.first.getTime() + (asOf.getTime() - span[0]!.first.getTime()) * 0.8));
    const { rows: truth } = await t.pool.query<{ customer_id: number; items: number[] }>(
      `WITH p AS (SELECT o.customer_id, i.product_id, o.order_date AS at FROM orders o JOIN order_items i USING (order_id)),
            a AS (SELECT customer_id, product_id, occurred_at AS at, event_type IN ('add_to_cart', 'add_to_wishlist') AS positive FROM behavior_events
                  WHERE customer_id IS NOT NULL AND product_id IS NOT NULL AND event_type IN ('view_product', 'add_to_cart', 'add_to_wishlist')
                  UNION ALL SELECT customer_id, product_id, at, true FROM p)
       SELECT customer_id, array_agg(DISTINCT product_id ORDER BY product_id) AS items FROM a
       WHERE positive AND at >= $1 AND NOT EXISTS (SELECT 1 FROM p WHERE p.customer_id = a.customer_id AND p.product_id = a.product_id AND p.at < $1)
         AND EXISTS (SELECT 1 FROM a e WHERE e.customer_id = a.customer_id AND e.at < $1)
       GROUP BY 1 ORDER BY 1`,
      [at],
    );
    expect(truth.length).toBeGreaterThan(20);
    expect(cases.map((c) => ({ customer_id: c.customerId, items: [...c.heldOut].sort((x, y) => x - y) }))).toEqual(truth);
    expect(cases.every((c) => c.at.getTime() === at!.getTime())).toBe(true);
  });
});

describe('rtrec train', () => {
  it('stores learned neighbours of real products and fitted weights that beat or match the defaults on validation, and serving uses them', async () => {
    const report = await trainServed(t.pool, t.services.recommenderOn, { maxCustomers: 500 });
    expect(report.saved).toBe(true);
    expect(report.ranker.cases).toBeGreaterThan(30);
    expect(report.ranker.fitted.hr + report.ranker.fitted.ndcg).toBeGreaterThanOrEqual(report.ranker.defaults.hr + report.ranker.defaults.ndcg);
    // The scratch schemas are gone.
    const schemas = await t.pool.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rtrec_%'");
    expect(schemas.rows).toEqual([]);

    // Neighbours: item-kNN over rec_customer_product, every row two real products, similarity in (0, 1].
    const n = await t.pool.query<{ rows: string; orphans: string; max: number; min: number }>(
      `SELECT count(*)::text AS rows, count(*) FILTER (WHERE a.product_id IS NULL OR b.product_id IS NULL)::text AS orphans, max(score) AS max, min(score) AS min
       FROM rec_model_neighbours m LEFT JOIN products a ON a.product_id = m.product_a LEFT JOIN products b ON b.product_id = m.product_b WHERE m.model = $1`,
      [NEIGHBOUR_MODEL],
    );
    expect(Number(n.rows[0]!.rows)).toBe(report.neighbours.rows);
    expect(report.neighbours.rows).toBeGreaterThan(100);
    expect(n.rows[0]).toMatchObject({ orphans: '0' });
    expect(n.rows[0]!.max).toBeLessThanOrEqual(1);
    expect(n.rows[0]!.min).toBeGreaterThan(0);

    // EASE: its positive item-item weights over the most popular products (numpy), every row two real products.
    expect(report.neighbours.ease).toMatchObject({ backend: 'numpy' });
    expect(report.neighbours.ease.items).toBe(Math.min(report.neighbours.products, 3000));
    const e = await t.pool.query<{ rows: string; orphans: string; min: number; sources: string }>(
      `SELECT count(*)::text AS rows, count(*) FILTER (WHERE a.product_id IS NULL OR b.product_id IS NULL)::text AS orphans, min(score) AS min,
              count(DISTINCT product_a)::text AS sources
       FROM rec_model_neighbours m LEFT JOIN products a ON a.product_id = m.product_a LEFT JOIN products b ON b.product_id = m.product_b WHERE m.model = $1`,
      [EASE_MODEL],
    );
    expect(Number(e.rows[0]!.rows)).toBe(report.neighbours.ease.rows);
    expect(report.neighbours.ease.rows).toBeGreaterThan(100);
    expect(e.rows[0]).toMatchObject({ orphans: '0' });
    expect(e.rows[0]!.min).toBeGreaterThan(0);
    expect(Number(e.rows[0]!.sources)).toBeLessThanOrEqual(report.neighbours.ease.items);

    // The weights serving reads are the stored ones.
    const stored = await t.pool.query<{ weights: RankerWeights }>('SELECT weights FROM rec_ranker WHERE name = $1', [SERVED_RANKER]);
    expect(stored.rows[0]!.weights).toEqual(report.ranker.ranker);
    expect(await t.services.recommenderOn(t.pool).ranker()).toEqual(report.ranker.ranker);
  }, 120_000);

  it("serves by the stored weights: popularity alone ranks by rec_product_stats, the learned signal's reasons name the neighbour's source product", async () => {
    const { rows: customers } = await t.pool.query<{ customer_id: number }>(
      'SELECT customer_id FROM rec_customer_product GROUP BY 1 HAVING count(*) >= 5 ORDER BY 1 LIMIT 5',
    );
    expect(customers.length).toBe(5);
    await saveRanker(t.pool, only('popular'), { test: true });
    const served = t.services.recommenderOn(t.pool); // a new recommender reads the table at once (no cached weights)
    for (const { customer_id } of customers) {
      const list = await served.recommend(customer_id, { first: 5 });
      const { rows } = await t.pool.query<{ product_id: number }>(
        `SELECT s.product_id FROM rec_product_stats s JOIN products p ON p.product_id = s.product_id AND p.is_active AND p.stock > 0
         WHERE NOT EXISTS (SELECT 1 FROM orders o JOIN order_items i USING (order_id) WHERE o.customer_id = $1 AND i.product_id = s.product_id)
           AND NOT EXISTS (SELECT 1 FROM rec_customer_product c WHERE c.customer_id = $1 AND c.product_id = s.product_id AND c.purchases > 0)
           AND NOT EXISTS (SELECT 1 FROM carts c WHERE c.customer_id = $1 AND c.product_id = s.product_id)
         ORDER BY s.score DESC, s.product_id LIMIT 5`,
        [customer_id],
      );
      expect(list.map((r) => r.productId)).toEqual(rows.map((r) => r.product_id));
      expect(list.every((r) => r.source === 'trending' && /^popular in /.test(r.reason))).toBe(true);
    }

    for (const [signal, model] of [
      ['learned', NEIGHBOUR_MODEL],
      ['learnedEase', EASE_MODEL],
    ] as const) {
      await saveRanker(t.pool, only(signal), { test: true });
      const learned = t.services.recommenderOn(t.pool);
      const list = await learned.recommend(customers[0]!.customer_id, { first: 10 });
      const fromNeighbours = list.filter((r) => r.source === 'learned');
      expect(fromNeighbours.length, signal).toBeGreaterThan(0);
      for (const r of fromNeighbours) {
        const source = r.reason.match(/^often chosen by customers who chose (.+)$/)?.[1];
        expect(source).toBeTruthy();
        // The named product is one of the customer's items whose stored neighbour (of this model) this product is.
        const { rowCount } = await t.pool.query(
          `SELECT 1 FROM rec_model_neighbours m JOIN products s ON s.product_id = m.product_a JOIN rec_customer_product c ON c.product_id = m.product_a AND c.customer_id = $1
           WHERE m.model = $4 AND m.product_b = $2 AND s.name = $3`,
          [customers[0]!.customer_id, r.productId, source, model],
        );
        expect(rowCount, `${signal}: ${r.reason}`).toBeGreaterThan(0);
      }
    }
  });

  it('CLI: trains and reports; refuses bad flags and an empty feature table with the fix', async () => {
    const env = { DATABASE_URL: t.url };
    const ok = await runCli(['train', '--max-customers', '200', '--json'], env);
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report).toMatchObject({ saved: true, ranker: { trained: true } });
    const bad = await runCli(['train', '--protocol', 'weekly'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--protocol.*leave-last-out, session|Allowed choices are leave-last-out, session/);
    const gap = await runCli(['train', '--session-gap', '10'], env);
    expect(gap.code).not.toBe(0);
    expect(gap.stderr).toMatch(/--session-gap applies to --protocol session only/);
    const few = await runCli(['train', '--max-customers', '3'], env);
    expect(few.code).not.toBe(0);
    expect(few.stderr).toMatch(/--max-customers/);

    const empty = await createTestDatabase('train_empty');
    try {
      const none = await runCli(['train'], { DATABASE_URL: empty.url });
      expect(none.code).not.toBe(0);
      expect(none.stderr).toMatch(/Nothing to train on: rec_customer_product is empty.*rtrec jobs deploy --all/);
    } finally {
      await empty.drop();
    }
  }, 120_000);
});
