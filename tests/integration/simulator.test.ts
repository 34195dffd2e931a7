import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateData } from '../../src/datagen/generate.js';
import { ACTION_WEIGHTS } from '../../src/simulator/behaviour.js';
import { type SimulationParams, type SimulationSummary, startSimulation, validateSimulationParams } from '../../src/simulator/runs.js';
import { uptakeOfRun } from '../../src/simulator/uptake.js';
import { createTestApp, gql } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { simulatedShop } from '../helpers/history.js';

let t: TestDatabase;
const until = new Date('2026-06-30T00:00:00Z');
const DAYS = 20;

beforeAll(async () => {
  t = await createTestDatabase('sim');
  await generateData(t.pool, { categories: 15, products: 200, customers: 100, seed: 11 });
});
afterAll(() => t.drop());

const deps = () => ({ db: t.db, pool: t.pool, storefront: t.storefront, logger: t.logger, recommender: t.recommender });
const one = async (sql: string) => (await t.pool.query(sql)).rows[0];

describe('historical back-fill', () => {
  let summary: Awaited<ReturnType<typeof startSimulation>>['done'] extends Promise<infer S> ? S : never;

  beforeAll(async () => {
    const started = await startSimulation(deps(), {
      sessions: 1,
      durationMinutes: 1,
      speed: 1,
      concurrency: 1,
      sessionsPerDay: 400,
      historicalDays: DAYS,
      seed: 5,
      until,
    });
    summary = await started.done;
  });

  it('writes a large, realistic volume and reports rows by table', async () => {
    expect(summary.rowsByTable.behavior_events).toBeGreaterThan(50_000);
    expect(summary.rowsByTable.orders).toBeGreaterThan(1000);
    expect(Number((await one('SELECT count(*) n FROM behavior_events')).n)).toBe(summary.rowsByTable.behavior_events);
    expect(await t.db.simulationRun.findFirstOrThrow({ where: { id: summary.runId } })).toMatchObject({ status: 'completed', progress: 1 });
  });

  it('keeps every timestamp inside the requested window', async () => {
    const r = await one('SELECT min(occurred_at) lo, max(occurred_at) hi FROM behavior_events');
    expect(r.lo.getTime()).toBeGreaterThanOrEqual(until.getTime() - DAYS * 86_400_000);
    expect(r.hi.getTime()).toBeLessThan(until.getTime());
    const orders = await one(
      `SELECT count(*) n FROM orders WHERE order_date >= $until OR order_date < $from`
        .replace('$until', `'${until.toISOString()}'`)
        .replace('$from', `'${new Date(until.getTime() - DAYS * 86_400_000).toISOString()}'`),
    );
    expect(orders.n).toBe('0');
  });

  it('follows the seed action weights in the recorded events (within 1.5 points)', async () => {
    const { rows } = await t.pool.query<{ event_type: string; n: string }>('SELECT event_type, count(*) n FROM behavior_events GROUP BY event_type');
    const total = rows.reduce((s, r) => s + Number(r.n), 0);
    for (const [type, weight] of Object.entries(ACTION_WEIGHTS)) {
      const share = Number(rows.find((r) => r.event_type === type)?.n ?? 0) / total;
      expect(Math.abs(share - weight), `${type}: ${share.toFixed(3)} vs ${weight}`).toBeLessThan(0.015);
    }
  });

  it('spreads traffic over the day with an evening peak', async () => {
    const { rows } = await t.pool.query<{ h: number; n: string }>(
      `SELECT extract(hour FROM occurred_at AT TIME ZONE 'UTC')::int h, count(*) n FROM behavior_events GROUP BY 1`,
    );
    const at = (h: number) => Number(rows.find((r) => r.h === h)?.n ?? 0);
    expect(at(20)).toBeGreaterThan(at(4) * 4);
  });

  it('keeps the books right: totals, payments, stock, one event per order', async () => {
    expect(
      await one(`SELECT count(*) n FROM orders o WHERE o.total_price <> (SELECT sum(price * quantity) FROM order_items i WHERE i.order_id = o.order_id)`),
    ).toEqual({ n: '0' });
    expect(
      await one(`SELECT count(*) n FROM orders o JOIN payments p USING (payment_id) WHERE p.amount <> o.total_price OR p.customer_id <> o.customer_id`),
    ).toEqual({ n: '0' });
    expect(await one('SELECT count(*) n FROM products WHERE stock < 0')).toEqual({ n: '0' });
    expect(
      await one(
        `SELECT count(*) n FROM orders o LEFT JOIN (SELECT order_id, count(*) c FROM behavior_events WHERE event_type = 'place_order' GROUP BY order_id) e USING (order_id) WHERE coalesce(e.c, 0) <> 1`,
      ),
    ).toEqual({ n: '0' });
    expect(await one(`SELECT count(*) n FROM orders WHERE status <> 'cancelled' AND shipment_id IS NULL`)).toEqual({ n: '0' });
    expect(await one(`SELECT count(*) n FROM orders o JOIN payments p USING (payment_id) WHERE (p.status = 'failed') <> (o.status = 'cancelled')`)).toEqual({
      n: '0',
    });
  });

  it('keeps referential integrity (the bulk writer skips per-row FK triggers)', async () => {
    const orphans = await one(`SELECT
        (SELECT count(*) FROM behavior_events e WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = e.customer_id))
      + (SELECT count(*) FROM behavior_events e WHERE e.product_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM products p WHERE p.product_id = e.product_id))
      + (SELECT count(*) FROM behavior_events e WHERE e.category_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM categories c WHERE c.category_id = e.category_id))
      + (SELECT count(*) FROM behavior_events e WHERE e.order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = e.order_id))
      + (SELECT count(*) FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = i.order_id))
      + (SELECT count(*) FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.product_id = i.product_id))
      + (SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.payment_id = o.payment_id))
      + (SELECT count(*) FROM orders o WHERE o.shipment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.shipment_id = o.shipment_id))
      + (SELECT count(*) FROM carts c WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.product_id = c.product_id))
      + (SELECT count(*) FROM wishlists w WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = w.customer_id)) AS n`);
    expect(orphans.n).toBe('0');
  });

  it('moves old orders through the lifecycle and uses several payment methods, some declined', async () => {
    const statuses = (await t.pool.query<{ status: string }>('SELECT DISTINCT status::text FROM orders')).rows.map((r) => r.status).sort();
    expect(statuses).toEqual(['cancelled', 'delivered', 'paid', 'shipped'].filter((s) => statuses.includes(s)));
    expect(statuses).toContain('delivered');
    expect(statuses).toContain('cancelled');
    const methods = await one('SELECT count(DISTINCT payment_method) n FROM payments');
    expect(Number(methods.n)).toBeGreaterThanOrEqual(5);
  });

  it('has an add event behind every cart line and wishlist entry', async () => {
    const orphans = await one(
      `SELECT count(*) n FROM carts c WHERE NOT EXISTS (SELECT 1 FROM behavior_events e WHERE e.customer_id = c.customer_id AND e.product_id = c.product_id AND e.event_type = 'add_to_cart')`,
    );
    expect(orphans.n).toBe('0');
    const wishes = await one(
      `SELECT count(*) n FROM wishlists w WHERE NOT EXISTS (SELECT 1 FROM behavior_events e WHERE e.customer_id = w.customer_id AND e.product_id = w.product_id AND e.event_type = 'add_to_wishlist')`,
    );
    expect(wishes.n).toBe('0');
  });

  it('reflects hidden tastes: customers mostly view their favourite categories', async () => {
    const r = await one(
      `SELECT avg((t.category_weights ->> e.category_id::text)::float) w FROM behavior_events e JOIN sim_customer_tastes t USING (customer_id) WHERE e.event_type = 'view_product'`,
    );
    const uniform = 1 / 15;
    expect(Number(r.w)).toBeGreaterThan(uniform * 3);
  });

  it('produces identical history for the same seed, data and window', async () => {
    const a = await createTestDatabase('simA');
    const b = await createTestDatabase('simB');
    try {
      for (const d of [a, b]) {
        await generateData(d.pool, { categories: 5, products: 40, customers: 30, seed: 4 });
        const run = await startSimulation(
          { db: d.db, pool: d.pool, storefront: d.storefront, logger: d.logger, recommender: d.recommender },
          { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 50, historicalDays: 3, seed: 8, until },
        );
        await run.done;
      }
      const snap = async (d: TestDatabase) =>
        (
          await d.pool.query(
            'SELECT customer_id, session_id, event_type, product_id, category_id, order_id, occurred_at, context FROM behavior_events ORDER BY occurred_at, event_id',
          )
        ).rows;
      const rowsA = await snap(a);
      expect(rowsA.length).toBeGreaterThan(100);
      expect(await snap(b)).toEqual(rowsA);
    } finally {
      await a.drop();
      await b.drop();
    }
  });
});

describe('live simulation', () => {
  /** A live run on a database of its own, then `check` with its summary and `q`, which reads one number from that database. */
  async function liveRun(
    prefix: string,
    data: Parameters<typeof generateData>[1],
    params: Parameters<typeof startSimulation>[1],
    check: (summary: Awaited<Awaited<ReturnType<typeof startSimulation>>['done']>, q: (sql: string) => Promise<number>) => Promise<void>,
  ) {
    const live = await createTestDatabase(prefix);
    try {
      await generateData(live.pool, data);
      const run = await startSimulation(
        { db: live.db, pool: live.pool, storefront: live.storefront, logger: live.logger, recommender: live.recommender },
        params,
      );
      await check(await run.done, async (sql) => Number((await live.pool.query(sql)).rows[0].n));
    } finally {
      await live.drop();
    }
  }

  it('runs concurrent sessions through the storefront with an event for every change', async () => {
    await liveRun(
      'live',
      { categories: 5, products: 40, customers: 30, seed: 6 },
      { sessions: 12, durationMinutes: 0.5, speed: 600, concurrency: 4, sessionsPerDay: 1, seed: 2 },
      async (summary, q) => {
        expect(summary.sessions).toBe(12);
        const events = await q('SELECT count(*) n FROM behavior_events');
        expect(events).toBe(summary.rowsByTable.behavior_events);
        expect(events).toBe(Object.values(summary.eventsByType).reduce((a, b) => a + b, 0));
        expect(await q(`SELECT count(*) n FROM behavior_events WHERE event_type = 'place_order'`)).toBe(await q('SELECT count(*) n FROM orders'));
        expect(await q(`SELECT count(DISTINCT session_id) n FROM behavior_events`)).toBeLessThanOrEqual(12);
        expect(await q('SELECT count(*) n FROM products WHERE stock < 0')).toBe(0);
        expect(
          await q(`SELECT count(*) n FROM orders o WHERE o.total_price <> (SELECT sum(price * quantity) FROM order_items i WHERE i.order_id = o.order_id)`),
        ).toBe(0);
        // Events carry the real commit time of a live run.
        const age = await q(`SELECT extract(epoch FROM now() - min(occurred_at))::int n FROM behavior_events`);
        expect(age).toBeLessThan(120);
      },
    );
  });

  it('signs up new customers and changes profiles and addresses now and then', async () => {
    await liveRun(
      'accounts',
      { categories: 3, products: 20, customers: 10, seed: 4 },
      { sessions: 60, durationMinutes: 0.01, speed: 10_000, concurrency: 4, sessionsPerDay: 1, seed: 5, recommendations: 0 },
      async ({ accountChanges, rowsByTable }, q) => {
        expect(accountChanges.sign_up).toBeGreaterThan(0);
        expect((accountChanges.address_changed ?? 0) + (accountChanges.phone_changed ?? 0)).toBeGreaterThan(0);
        expect(rowsByTable.customers).toBe(accountChanges.sign_up);
        // Each new customer has hidden tastes like a generated one, and a changed profile is stamped.
        expect(await q('SELECT count(*) n FROM customers c LEFT JOIN sim_customer_tastes t USING (customer_id) WHERE t.customer_id IS NULL')).toBe(0);
        expect(await q('SELECT count(*) n FROM customers WHERE updated_at > created_at')).toBeGreaterThan(0);
      },
    );
  });

  it('rejects bad parameters with a message naming the parameter', async () => {
    await expect(startSimulation(deps(), { sessions: 0, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 1 })).rejects.toThrow(
      /sessions must be an integer from 1/,
    );
    await expect(startSimulation(deps(), { sessions: 1, durationMinutes: 1, speed: 0, concurrency: 1, sessionsPerDay: 1 })).rejects.toThrow(/speed/);
    await expect(startSimulation(deps(), { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 1, historicalDays: -3 })).rejects.toThrow(
      /historicalDays/,
    );
  });
});

describe('recommendations in live sessions (the closed loop)', () => {
  let r: TestDatabase;
  let random: SimulationSummary;
  const run = async (params: Partial<SimulationParams>) =>
    (
      await startSimulation(
        { db: r.db, pool: r.pool, storefront: r.storefront, logger: r.logger, recommender: r.recommender },
        { sessions: 250, durationMinutes: 0.2, speed: 10_000, concurrency: 4, sessionsPerDay: 1, seed: 17, ...params },
      )
    ).done;
  const rows = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await r.pool.query<T>(sql, values)).rows;

  beforeAll(async () => {
    r = await createTestDatabase('closedloop');
    // The served recommender reads the features Flink would have written for this history.
    await simulatedShop(r, { categories: 10, products: 150, customers: 80, seed: 21 }, { sessionsPerDay: 300, days: 14, seed: 9 });
    random = await run({ recommendations: 8, recommender: 'random' });
  });
  afterAll(() => r?.drop());

  it('records one impression per product shown, with list id, position, reason and source, in one list per session', async () => {
    const recs = random.recommendations!;
    expect(recs).toMatchObject({ recommender: 'random', perSession: 8, lists: 250, impressions: 2000, emptyLists: 0 });
    expect(random.eventsByType.recommendation_impression).toBe(2000);
    const lists = await rows<{ list_id: string; n: number; positions: number[]; sessions: number; reasons: string[]; recommenders: string[]; runs: string[] }>(`
      SELECT context->>'listId' AS list_id, count(*)::int AS n, array_agg((context->>'position')::int ORDER BY (context->>'position')::int) AS positions,
             count(DISTINCT session_id)::int AS sessions, array_agg(DISTINCT context->>'reason') AS reasons,
             array_agg(DISTINCT context->>'recommender') AS recommenders, array_agg(DISTINCT context->>'runId') AS runs
      FROM behavior_events WHERE event_type = 'recommendation_impression' GROUP BY 1`);
    expect(lists).toHaveLength(250);
    for (const list of lists) {
      expect(list.list_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(list).toMatchObject({
        n: 8,
        positions: [1, 2, 3, 4, 5, 6, 7, 8],
        sessions: 1,
        reasons: ['random baseline'],
        recommenders: ['random'],
        runs: [random.runId],
      });
    }
    // Impressions are behaviour events like any other: product and category set, the session of the shopper.
    const [bad] = await rows<{ n: number }>(`SELECT count(*)::int n FROM behavior_events e JOIN products p USING (product_id)
      WHERE e.event_type = 'recommendation_impression' AND (e.category_id <> p.category_id OR e.context->>'source' <> 'random')`);
    expect(bad!.n).toBe(0);
  });

  it('ties every click to an impression of its list and follows it with a view of the product', async () => {
    const recs = random.recommendations!;
    expect(recs.clicks).toBeGreaterThan(30);
    const [orphans] = await rows<{ n: number }>(`SELECT count(*)::int n FROM behavior_events c WHERE c.event_type = 'recommendation_click' AND NOT EXISTS (
      SELECT 1 FROM behavior_events i WHERE i.event_type = 'recommendation_impression' AND i.session_id = c.session_id AND i.product_id = c.product_id
        AND i.context->>'listId' = c.context->>'listId' AND i.context->>'position' = c.context->>'position' AND i.event_id < c.event_id)`);
    expect(orphans!.n).toBe(0);
    const [unviewed] = await rows<{ n: number }>(`SELECT count(*)::int n FROM behavior_events c WHERE c.event_type = 'recommendation_click' AND NOT EXISTS (
      SELECT 1 FROM behavior_events v WHERE v.event_type = 'view_product' AND v.session_id = c.session_id AND v.product_id = c.product_id
        AND v.context->>'listId' = c.context->>'listId' AND v.event_id > c.event_id AND v.occurred_at = c.occurred_at)`);
    expect(unviewed!.n).toBe(0);
  });

  it('makes shoppers click products that match their hidden tastes several times as often as the others', async () => {
    // Random lists show products of every category; favourite categories hold 85% of a customer's taste.
    const groups = await rows<{ matched: boolean; impressions: number; clicks: number }>(
      `
      SELECT (t.category_weights ->> i.category_id::text)::float >= 0.1 AS matched, count(*)::int AS impressions,
             count(*) FILTER (WHERE EXISTS (SELECT 1 FROM behavior_events c WHERE c.event_type = 'recommendation_click'
               AND c.context->>'listId' = i.context->>'listId' AND c.product_id = i.product_id))::int AS clicks
      FROM behavior_events i JOIN sim_customer_tastes t USING (customer_id)
      WHERE i.event_type = 'recommendation_impression' AND i.context->>'runId' = $1 GROUP BY 1`,
      [random.runId],
    );
    const ctr = (matched: boolean) => {
      const g = groups.find((x) => x.matched === matched)!;
      return { ...g, ctr: g.clicks / g.impressions };
    };
    const [good, poor] = [ctr(true), ctr(false)];
    // Hundreds of impressions each side. A click model blind to taste gives a ratio near 1 (binomial noise
    // at these counts stays well under 1.5); the taste model gives about 10.
    expect(good.impressions).toBeGreaterThan(200);
    expect(poor.impressions).toBeGreaterThan(1000);
    expect(good.ctr, `matched ${good.clicks}/${good.impressions}, others ${poor.clicks}/${poor.impressions}`).toBeGreaterThan(4 * poor.ctr);
  });

  it('counts the same uptake in memory as from the recorded events, and serves it on the GraphQL simulation run', async () => {
    const { perSession: _p, emptyLists: _e, ...counted } = random.recommendations!;
    const run = await r.db.simulationRun.findUniqueOrThrow({ where: { id: random.runId } });
    expect(await uptakeOfRun(r.pool, run, 'random')).toEqual(counted);
    expect(counted.clickThroughRate).toBeCloseTo(counted.clicks / counted.impressions, 10);
    expect(counted.ordersWithClickedProduct).toBeGreaterThan(0);
    const { app } = createTestApp(r);
    const result = await gql<
      { simulationRun: { params: { recommendations: number; recommender: string }; recommendationUptake: Record<string, unknown> } },
      unknown
    >(
      app,
      `query ($id: ID!) { simulationRun(id: $id) { params recommendationUptake { recommender lists impressions clicks clickThroughRate ordersWithClickedProduct clickedProductsBought conversionRate } } }`,
      { id: random.runId },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.simulationRun.params).toMatchObject({ recommendations: 8, recommender: 'random' });
    expect(result.data!.simulationRun.recommendationUptake).toEqual(counted);
  });

  it('shows our recommendations, which shoppers take up more than random ones', async () => {
    const ours = await run({ recommendations: 8, recommender: 'ours' });
    const recs = ours.recommendations!;
    expect(recs.lists).toBe(250);
    const sources = await rows<{ source: string }>(
      `SELECT DISTINCT context->>'source' AS source FROM behavior_events WHERE event_type = 'recommendation_impression' AND context->>'runId' = $1`,
      [ours.runId],
    );
    expect(sources.map((x) => x.source).every((x) => ['similar', 'revisit', 'affinity', 'trending'].includes(x))).toBe(true);
    expect(
      recs.clickThroughRate,
      `ours ${recs.clicks}/${recs.impressions}, random ${random.recommendations!.clicks}/${random.recommendations!.impressions}`,
    ).toBeGreaterThan(1.5 * random.recommendations!.clickThroughRate);
    // 250 served lists: 34 s alone on a slow 2-core machine, more beside the rest of the suite.
  }, 180_000);

  it('shows none with recommendations 0', async () => {
    const none = await run({ sessions: 20, recommendations: 0 });
    expect(none.recommendations).toBeUndefined();
    expect(none.eventsByType.recommendation_impression).toBeUndefined();
    // Every recommendation event since the run started, but for those of an earlier run still finishing.
    const run0 = await r.db.simulationRun.findUniqueOrThrow({ where: { id: none.runId } });
    const [n] = await rows<{ n: number }>(
      `SELECT count(*)::int n FROM behavior_events WHERE event_type IN ('recommendation_impression', 'recommendation_click') AND occurred_at >= $1
         AND (context->>'runId' IS NULL OR context->>'runId' NOT IN (SELECT id::text FROM simulation_runs WHERE id <> $2 AND started_at < $1))`,
      [run0.startedAt, none.runId],
    );
    expect(n!.n).toBe(0);
  });

  it('rejects bad recommendation settings, in the API and on the command line (exit 2, saying what is allowed)', async () => {
    const base = { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 1 };
    expect(() => validateSimulationParams({ ...base, recommendations: -1 })).toThrow(/recommendations must be an integer from 0 to 50/);
    expect(() => validateSimulationParams({ ...base, recommendations: 2.5 })).toThrow(/recommendations must be an integer from 0 to 50/);
    expect(() => validateSimulationParams({ ...base, recommender: 'popular' as never })).toThrow(/recommender must be one of ours, random/);
    const [count, name] = await Promise.all([runCli(['simulate', '--recommendations', '51']), runCli(['simulate', '--recommender', 'popular'])]);
    expect(count.code).toBe(2);
    expect(count.stderr).toMatch(/--recommendations <n>.*must be from 0 to 50/);
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/Allowed choices are ours, random/);
  });
});
