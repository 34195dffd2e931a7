import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateData } from '../../src/datagen/generate.js';
import { ACTION_WEIGHTS } from '../../src/shop/policy.js';
import { startSimulation } from '../../src/simulator/runs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
const until = new Date('2026-06-30T00:00:00Z');
const DAYS = 20;

beforeAll(async () => {
  t = await createTestDatabase('sim');
  await generateData(t.pool, { categories: 15, products: 200, customers: 100, seed: 11 });
});
afterAll(() => t.drop());

const deps = () => ({ db: t.db, pool: t.pool, storefront: t.storefront, logger: t.logger });
const one = async (sql: string) => (await t.pool.query(sql)).rows[0];

describe('historical back-fill', () => {
  let summary: Awaited<ReturnType<typeof startSimulation>>['done'] extends Promise<infer S> ? S : never;

  beforeAll(async () => {
    const started = await startSimulation(deps(), { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 400, historicalDays: DAYS, seed: 5, until });
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
    const orders = await one(`SELECT count(*) n FROM orders WHERE order_date >= $until OR order_date < $from`.replace('$until', `'${until.toISOString()}'`).replace('$from', `'${new Date(until.getTime() - DAYS * 86_400_000).toISOString()}'`));
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
    const { rows } = await t.pool.query<{ h: number; n: string }>(`SELECT extract(hour FROM occurred_at AT TIME ZONE 'UTC')::int h, count(*) n FROM behavior_events GROUP BY 1`);
    const at = (h: number) => Number(rows.find((r) => r.h === h)?.n ?? 0);
    expect(at(20)).toBeGreaterThan(at(4) * 4);
  });

  it('keeps the books right: totals, payments, stock, one event per order', async () => {
    expect(await one(`SELECT count(*) n FROM orders o WHERE o.total_price <> (SELECT sum(price * quantity) FROM order_items i WHERE i.order_id = o.order_id)`)).toEqual({ n: '0' });
    expect(await one(`SELECT count(*) n FROM orders o JOIN payments p USING (payment_id) WHERE p.amount <> o.total_price OR p.customer_id <> o.customer_id`)).toEqual({ n: '0' });
    expect(await one('SELECT count(*) n FROM products WHERE stock < 0')).toEqual({ n: '0' });
    expect(await one(`SELECT count(*) n FROM orders o LEFT JOIN (SELECT order_id, count(*) c FROM behavior_events WHERE event_type = 'place_order' GROUP BY order_id) e USING (order_id) WHERE coalesce(e.c, 0) <> 1`)).toEqual({ n: '0' });
    expect(await one(`SELECT count(*) n FROM orders WHERE status <> 'cancelled' AND shipment_id IS NULL`)).toEqual({ n: '0' });
    expect(await one(`SELECT count(*) n FROM orders o JOIN payments p USING (payment_id) WHERE (p.status = 'failed') <> (o.status = 'cancelled')`)).toEqual({ n: '0' });
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
    const orphans = await one(`SELECT count(*) n FROM carts c WHERE NOT EXISTS (SELECT 1 FROM behavior_events e WHERE e.customer_id = c.customer_id AND e.product_id = c.product_id AND e.event_type = 'add_to_cart')`);
    expect(orphans.n).toBe('0');
    const wishes = await one(`SELECT count(*) n FROM wishlists w WHERE NOT EXISTS (SELECT 1 FROM behavior_events e WHERE e.customer_id = w.customer_id AND e.product_id = w.product_id AND e.event_type = 'add_to_wishlist')`);
    expect(wishes.n).toBe('0');
  });

  it('reflects hidden tastes: customers mostly view their favourite categories', async () => {
    const r = await one(`SELECT avg((t.category_weights ->> e.category_id::text)::float) w FROM behavior_events e JOIN sim_customer_tastes t USING (customer_id) WHERE e.event_type = 'view_product'`);
    const uniform = 1 / 15;
    expect(Number(r.w)).toBeGreaterThan(uniform * 3);
  });

  it('produces identical history for the same seed, data and window', async () => {
    const a = await createTestDatabase('simA');
    const b = await createTestDatabase('simB');
    try {
      for (const d of [a, b]) {
        await generateData(d.pool, { categories: 5, products: 40, customers: 30, seed: 4 });
        const run = await startSimulation({ db: d.db, pool: d.pool, storefront: d.storefront, logger: d.logger }, { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 50, historicalDays: 3, seed: 8, until });
        await run.done;
      }
      const snap = async (d: TestDatabase) => (await d.pool.query('SELECT customer_id, session_id, event_type, product_id, category_id, order_id, occurred_at, context FROM behavior_events ORDER BY occurred_at, event_id')).rows;
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
  it('runs concurrent sessions through the storefront with an event for every change', async () => {
    const live = await createTestDatabase('live');
    try {
      await generateData(live.pool, { categories: 5, products: 40, customers: 30, seed: 6 });
      const run = await startSimulation({ db: live.db, pool: live.pool, storefront: live.storefront, logger: live.logger },
        { sessions: 12, durationMinutes: 0.5, speed: 600, concurrency: 4, sessionsPerDay: 1, seed: 2 });
      const summary = await run.done;
      expect(summary.sessions).toBe(12);
      const q = async (sql: string) => Number((await live.pool.query(sql)).rows[0].n);
      const events = await q('SELECT count(*) n FROM behavior_events');
      expect(events).toBe(summary.rowsByTable.behavior_events);
      expect(events).toBe(Object.values(summary.eventsByType).reduce((a, b) => a + b, 0));
      expect(await q(`SELECT count(*) n FROM behavior_events WHERE event_type = 'place_order'`)).toBe(await q('SELECT count(*) n FROM orders'));
      expect(await q(`SELECT count(DISTINCT session_id) n FROM behavior_events`)).toBeLessThanOrEqual(12);
      expect(await q('SELECT count(*) n FROM products WHERE stock < 0')).toBe(0);
      expect(await q(`SELECT count(*) n FROM orders o WHERE o.total_price <> (SELECT sum(price * quantity) FROM order_items i WHERE i.order_id = o.order_id)`)).toBe(0);
      // Events carry the real commit time of a live run.
      const age = await q(`SELECT extract(epoch FROM now() - min(occurred_at))::int n FROM behavior_events`);
      expect(age).toBeLessThan(120);
    } finally {
      await live.drop();
    }
  });

  it('rejects bad parameters with a message naming the parameter', async () => {
    await expect(startSimulation(deps(), { sessions: 0, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 1 })).rejects.toThrow(/sessions must be an integer from 1/);
    await expect(startSimulation(deps(), { sessions: 1, durationMinutes: 1, speed: 0, concurrency: 1, sessionsPerDay: 1 })).rejects.toThrow(/speed/);
    await expect(startSimulation(deps(), { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 1, historicalDays: -3 })).rejects.toThrow(/historicalDays/);
  });
});
