import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/env.js';
import { createReadPool, type Db } from '../../src/database/database.js';
import { compileRead, createEntityReader, modelsOf, UnsupportedRead } from '../../src/database/entity-reader.js';
import { Prisma } from '../../src/generated/prisma/client.js';
import { createApp } from '../../src/server/app.js';
import { as, TEST_AUTH_SECRET } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { simulatedShop } from '../helpers/history.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('reader');
  await simulatedShop(t, { categories: 4, products: 40, customers: 30, seed: 3 }, { sessionsPerDay: 60, days: 2, seed: 2, features: false });
}, 120_000);
afterAll(() => t?.drop());

type Args = Record<string, unknown>;
const delegate = (db: Db, model: string) =>
  (db as unknown as Record<string, { findMany(a: Args): Promise<unknown[]>; count(a: Args): Promise<number> }>)[model[0]!.toLowerCase() + model.slice(1)]!;

/** Prisma's rows with money as the two-decimal string the reader (and the API) gives. */
function moneyAsText(value: unknown): unknown {
  if (Prisma.Decimal.isDecimal(value)) return (value as Prisma.Decimal).toFixed(2);
  if (Array.isArray(value)) return value.map(moneyAsText);
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, moneyAsText(v)]));
  return value;
}

describe('the entity reader (one SQL statement per read) returns what Prisma returns', () => {
  const shapes: [string, string, Args][] = [
    ['orders, newest first, with customer', 'Order', { include: { customer: true }, orderBy: { orderId: 'desc' }, take: 7 }],
    [
      'orders with items (paged, counted), each with product and category',
      'Order',
      {
        include: {
          customer: true,
          payment: true,
          shipment: true,
          items: { include: { product: { include: { category: true } } }, orderBy: { orderItemId: 'asc' }, take: 2 },
          _count: { select: { items: true } },
        },
        orderBy: { orderId: 'asc' },
        take: 5,
        skip: 2,
      },
    ],
    ['a cursor page forwards', 'Customer', { orderBy: { customerId: 'asc' }, cursor: { customerId: 5 }, skip: 1, take: 4 }],
    ['a cursor page backwards', 'Customer', { orderBy: { customerId: 'asc' }, cursor: { customerId: 12 }, skip: 1, take: -4 }],
    ['the last rows (negative take, no cursor)', 'Product', { orderBy: { productId: 'asc' }, take: -3 }],
    ['a cursor that does not exist', 'Customer', { orderBy: { customerId: 'asc' }, cursor: { customerId: 999_999 }, take: 3 }],
    [
      'filters: contains (insensitive), ranges, in, OR, NOT',
      'Product',
      {
        where: {
          AND: [
            { OR: [{ name: { contains: 'A', mode: 'insensitive' } }, { description: { contains: 'e', mode: 'insensitive' } }] },
            { price: { gte: '5.00', lte: '900.00' } },
            { categoryId: { in: [1, 2, 3] } },
            { NOT: { stock: { lt: 0 } } },
          ],
        },
        orderBy: { productId: 'asc' },
        take: 50,
      },
    ],
    ['an impossible filter (in: [])', 'Order', { where: { AND: [{}, { orderId: { in: [] } }] }, take: 5 }],
    ['a to-one relation filter (a customer’s order items)', 'OrderItem', { where: { order: { customerId: 3 } }, orderBy: { orderItemId: 'asc' } }],
    ['to-many relation filters', 'Customer', { where: { orders: { some: { status: 'paid' } }, wishlists: { none: {} } }, orderBy: { customerId: 'asc' } }],
    [
      'select of scalars (the REST lists)',
      'Payment',
      { select: { paymentId: true, amount: true, paymentDate: true, status: true }, orderBy: { paymentId: 'desc' }, take: 4 },
    ],
    ['bigint ids and JSON columns', 'BehaviorEvent', { include: { product: true }, orderBy: { eventId: 'desc' }, take: 6 }],
    [
      'dates in a range',
      'Order',
      { where: { orderDate: { gte: new Date(Date.now() - 3 * 86_400_000), lte: new Date() } }, orderBy: { orderId: 'asc' }, take: 10 },
    ],
  ];

  it.each(shapes)('%s', async (_label, model, args) => {
    const reader = createEntityReader(t.pool, t.db);
    const expected = await delegate(t.db, model).findMany(args);
    const { rows } = await reader.findMany(model, args);
    expect(reader.stats).toEqual({ statements: 1, fallbacks: 0 });
    expect(rows).toEqual(moneyAsText(expected));
    if (args.where)
      expect((await reader.findMany(model, args, args.where as Args)).total).toBe(await delegate(t.db, model).count({ where: args.where as Args }));
  });

  it('hands a shape it does not cover to Prisma (same rows), and counts it', async () => {
    const models = modelsOf(t.db);
    const args = { orderBy: { description: { sort: 'asc', nulls: 'last' } }, take: 3 };
    expect(() => compileRead(models, 'Product', args)).toThrow(UnsupportedRead);
    const reader = createEntityReader(t.pool, t.db);
    expect((await reader.findMany('Product', args)).rows).toEqual(moneyAsText(await delegate(t.db, 'Product').findMany(args)));
    expect(reader.stats).toEqual({ statements: 0, fallbacks: 1 });
  });

  it('keeps every value a parameter: the statement of a shape is the same whatever the values', () => {
    const models = modelsOf(t.db);
    const a = compileRead(models, 'Order', { where: { customerId: 424_242 }, take: 5, cursor: { orderId: 737_373 }, skip: 1, orderBy: { orderId: 'asc' } });
    const b = compileRead(models, 'Order', { where: { customerId: 2 }, take: 50, cursor: { orderId: 9 }, skip: 1, orderBy: { orderId: 'asc' } });
    expect(a.text).toBe(b.text);
    expect(a.values).toEqual([424_242, 737_373, 5, 1]);
    expect(a.text).not.toContain('424242');
    expect(a.text).not.toContain('737373');
  });
});

describe('GraphQL entity lists', () => {
  const LIST = `query ($n: Int!) {
    orders(first: $n, order: DESC) {
      totalCount
      edges { node { orderId totalPrice customer { firstName lastName }
        items(first: 3) { totalCount edges { node { quantity product { name category { name } } } } } } }
    }
  }`;

  /** The app on this database with every Prisma operation and every reader statement counted. */
  function countedApp() {
    let prisma = 0;
    const db = t.db.$extends({
      query: {
        async $allOperations({ args, query }) {
          prisma++;
          return query(args);
        },
      },
    }) as unknown as Db;
    Object.assign(db, { _runtimeDataModel: (t.db as unknown as { _runtimeDataModel: unknown })._runtimeDataModel });
    const services = createServices({
      config: loadConfig({ LOG_LEVEL: 'silent', AUTH_SECRET: TEST_AUTH_SECRET }),
      logger: t.logger,
      databaseUrl: t.url,
      db,
      pool: t.pool,
    });
    return { app: createApp(services), trips: () => prisma + services.reader.stats.statements + services.reader.stats.fallbacks };
  }

  it('need one database round trip whatever the page size, nested relations and counts included', async () => {
    const { app, trips } = countedApp();
    const headers = { ...(await as('admin')), 'content-type': 'application/json' };
    const run = async (n: number) => {
      const before = trips();
      const response = await app.fetch('http://localhost/graphql', { method: 'POST', headers, body: JSON.stringify({ query: LIST, variables: { n } }) });
      const body = (await response.json()) as {
        data: { orders: { totalCount: number; edges: { node: { items: { edges: unknown[] } } }[] } };
        errors?: unknown;
      };
      expect(body.errors).toBeUndefined();
      return { trips: trips() - before, data: body.data.orders };
    };
    const small = await run(2);
    const large = await run(25);
    expect(large.data.edges.length).toBe(Math.min(25, large.data.totalCount));
    expect(large.data.edges.some((e) => e.node.items.edges.length > 0)).toBe(true);
    expect(small.trips).toBe(1);
    expect(large.trips).toBe(small.trips);
  });

  it('answer a single-row lookup with its customer in one round trip', async () => {
    const { app, trips } = countedApp();
    const headers = { ...(await as('admin')), 'content-type': 'application/json' };
    const before = trips();
    const response = await app.fetch('http://localhost/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: '{ order(orderId: 1) { orderId status customer { email } items { totalCount } } }' }),
    });
    const body = (await response.json()) as { data: { order: { orderId: number; customer: { email: string } } } };
    expect(body.data.order.orderId).toBe(1);
    expect(body.data.order.customer.email).toContain('@');
    expect(trips() - before).toBe(1);
  });
});

describe('the read pool', () => {
  it('plans the reader’s prepared statements generically on every connection, and reads what the shared pool reads', async () => {
    const readPool = createReadPool(t.url, 2);
    try {
      const settings = await Promise.all(
        Array.from({ length: 4 }, () => readPool.query({ text: "SELECT current_setting('plan_cache_mode') AS mode" }).then((r) => r.rows[0].mode)),
      );
      expect(settings).toEqual(Array(4).fill('force_generic_plan'));
      const args = { include: { customer: true }, orderBy: { orderId: 'desc' }, take: 5 };
      const shared = await createEntityReader(t.pool, t.db).findMany('Order', args, {});
      const generic = createEntityReader(readPool, t.db);
      for (let i = 0; i < 7; i++) expect(await generic.findMany('Order', args, {})).toEqual(shared);
      await expect(readPool.query({ text: 'SELECT 1/0' })).rejects.toThrow('division by zero');
      expect((await readPool.query({ text: 'SELECT 1 AS one' })).rows).toEqual([{ one: 1 }]);
    } finally {
      await readPool.end();
    }
  });
});

describe('the orders list with customers and totalCount, counted on the wire', () => {
  it('sends PostgreSQL one statement whatever the page size (every query of every pg client counted)', async () => {
    const readPool = createReadPool(t.url, 4);
    const services = createServices({
      config: loadConfig({ LOG_LEVEL: 'silent', AUTH_SECRET: TEST_AUTH_SECRET }),
      logger: t.logger,
      databaseUrl: t.url,
      db: t.db,
      pool: t.pool,
      readPool,
    });
    const app = createApp(services);
    const headers = { ...(await as('admin')), 'content-type': 'application/json' };
    const query = `query ($n: Int!) { orders(first: $n, order: DESC) { totalCount
      edges { node { orderId orderDate status totalPrice customer { firstName lastName } } } } }`;
    // Prisma's adapter and the raw pools all send through pg.Client#query: each call is one round trip.
    const original = pg.Client.prototype.query;
    let sent = 0;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      sent++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    try {
      const run = async (n: number) => {
        const before = sent;
        const response = await app.fetch('http://localhost/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables: { n } }) });
        const body = (await response.json()) as {
          data: { orders: { totalCount: number; edges: { node: { customer: { firstName: string } } }[] } };
          errors?: unknown;
        };
        expect(body.errors).toBeUndefined();
        expect(body.data.orders.edges.length).toBe(Math.min(n, body.data.orders.totalCount));
        expect(body.data.orders.edges.every((e) => typeof e.node.customer.firstName === 'string')).toBe(true);
        return sent - before;
      };
      for (const n of [1, 10, 50]) await run(n); // each connection's first query also sets its plan mode
      const trips = { 1: await run(1), 10: await run(10), 50: await run(50) };
      expect(trips).toEqual({ 1: 1, 10: 1, 50: 1 });
    } finally {
      pg.Client.prototype.query = original;
      await readPool.end();
    }
  });
});
