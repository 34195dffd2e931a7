import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateData } from '../../src/datagen/generate.js';
import { startSimulation } from '../../src/simulator/runs.js';
import {
  AddToCartDocument,
  AddToWishlistDocument,
  BrowseCategoryDocument,
  ClearDataDocument,
  CustomersDocument,
  CustomerWithOrdersDocument,
  EventsDocument,
  GenerateDataDocument,
  OrdersDocument,
  PlaceOrderDocument,
  ProductsDocument,
  RemoveFromCartDocument,
  SimulateDocument,
  SimulationRunDocument,
  ViewProductDocument,
} from '../generated/graphql.js';
import { type App, as, createTestApp, gql } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
let app: App;
const SLOT = 'rtrec_graphql_test';
let stopSims: () => Promise<void>;

beforeAll(async () => {
  t = await createTestDatabase('gql');
  await generateData(t.pool, { categories: 6, products: 60, customers: 40, seed: 21 });
  await t.pool.query('UPDATE products SET is_active = true, stock = 50');
  await (
    await startSimulation(
      { db: t.db, pool: t.pool, storefront: t.storefront, logger: t.logger, recommender: t.recommender },
      { sessions: 1, durationMinutes: 1, speed: 1, concurrency: 1, sessionsPerDay: 60, historicalDays: 5, seed: 3 },
    )
  ).done;
  // A slot name of its own: slot names are cluster-wide, and the CDC e2e test's connector may hold the default.
  const test = createTestApp(t, { CDC_SLOT_NAME: SLOT });
  app = test.app;
  stopSims = () => test.simulations.shutdown();
});
afterAll(async () => {
  await stopSims();
  await t.drop();
});

describe('GraphQL queries', () => {
  it('pages through customers with Relay cursors and a total count', async () => {
    const first = await gql(app, CustomersDocument, { first: 15 });
    expect(first.errors).toBeUndefined();
    const page1 = first.data!.customers;
    expect(page1.totalCount).toBe(40);
    expect(page1.edges).toHaveLength(15);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await gql(app, CustomersDocument, { first: 15, after: page1.pageInfo.endCursor });
    const ids1 = page1.edges.map((e) => e.node.customerId);
    const ids2 = second.data!.customers.edges.map((e) => e.node.customerId);
    expect(ids2).toHaveLength(15);
    expect(Math.min(...ids2)).toBeGreaterThan(Math.max(...ids1));
    const third = await gql(app, CustomersDocument, { first: 15, after: second.data!.customers.pageInfo.endCursor });
    expect(third.data!.customers.edges).toHaveLength(10);
    expect(third.data!.customers.pageInfo.hasNextPage).toBe(false);
  });

  it('filters customers by a search string', async () => {
    const someone = await t.db.customer.findFirstOrThrow();
    const result = await gql(app, CustomersDocument, { first: 10, search: someone.email.toUpperCase() });
    expect(result.data!.customers.edges.map((e) => e.node.customerId)).toEqual([someone.customerId]);
  });

  it('follows relations both ways: customer → orders → items → product → category', async () => {
    const order = await t.db.order.findFirstOrThrow({ where: { items: { some: {} } } });
    const result = await gql(app, CustomerWithOrdersDocument, { customerId: order.customerId });
    expect(result.errors).toBeUndefined();
    const customer = result.data!.customer!;
    expect(customer.customerId).toBe(order.customerId);
    const node = customer.orders.edges[0]!.node;
    expect(node.customer.customerId).toBe(order.customerId);
    expect(node.items.edges[0]!.node.product.category.name).toBeTruthy();
    expect(customer.orders.totalCount).toBe(await t.db.order.count({ where: { customerId: order.customerId } }));
  });

  it('filters products by category and price range', async () => {
    const product = await t.db.product.findFirstOrThrow();
    const result = await gql(app, ProductsDocument, { categoryId: product.categoryId, minPrice: '10.00', maxPrice: '200.00', first: 100 });
    const nodes = result.data!.products.edges.map((e) => e.node);
    expect(nodes.length).toBe(await t.db.product.count({ where: { categoryId: product.categoryId, price: { gte: 10, lte: 200 } } }));
    for (const p of nodes) {
      expect(p.categoryId).toBe(product.categoryId);
      expect(Number(p.price)).toBeGreaterThanOrEqual(10);
      expect(Number(p.price)).toBeLessThanOrEqual(200);
    }
  });

  it('filters orders by status and date range, newest first', async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 2 * 86_400_000);
    const result = await gql(app, OrdersDocument, { status: 'delivered', from: from.toISOString(), to: to.toISOString(), first: 50, order: 'DESC' });
    expect(result.errors).toBeUndefined();
    const expected = await t.db.order.count({ where: { status: 'delivered', orderDate: { gte: from, lte: to } } });
    expect(result.data!.orders.totalCount).toBe(expected);
    const nodes = result.data!.orders.edges.map((e) => e.node);
    for (const o of nodes) {
      expect(o.status).toBe('delivered');
      expect(new Date(o.orderDate).getTime()).toBeGreaterThanOrEqual(from.getTime());
      expect(o.payment!.amount).toBe(o.totalPrice);
    }
    const ids = nodes.map((o) => o.orderId);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it('returns typed errors: NOT_FOUND for unknown ids, BAD_USER_INPUT for bad ranges and oversized pages', async () => {
    const missing = await gql(app, CustomerWithOrdersDocument, { customerId: 987_654 });
    expect(missing.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    const range = await gql(app, OrdersDocument, { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' });
    expect(range.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    const big = await gql(app, CustomersDocument, { first: 1000 });
    expect(big.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(big.errors![0]!.message).toMatch(/Page size must be between 0 and 100/);
    const date = await gql(app, OrdersDocument, { from: 'yesterday' });
    expect(date.errors![0]!.message).toMatch(/ISO-8601/);
  });

  it('limits query depth and size', async () => {
    const deep = `{ customers(first: 1) { edges { node { orders(first: 1) { edges { node { items(first: 1) { edges { node { product { category { products(first: 1) { edges { node { orderItems(first: 1) { edges { node { order { customer { customerId } } } } } } } } } } } } } } } } } } } }`;
    const result = await gql(app, deep);
    expect(result.errors![0]!.message).toMatch(/depth limit/i);
    const aliases = `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: categories(first: 1) { totalCount }`).join(' ')} }`;
    expect((await gql(app, aliases)).errors![0]!.message).toMatch(/alias/i);
  });

  it('does not expose password hashes', async () => {
    const result = await gql(app, '{ customers(first: 1) { edges { node { passwordHash } } } }');
    expect(result.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('GraphQL storefront mutations', () => {
  const customerId = 1;
  let productId: number;
  beforeAll(async () => {
    productId = (await t.db.product.findFirstOrThrow({ orderBy: { productId: 'asc' } })).productId;
    await t.db.cart.deleteMany({ where: { customerId } });
  });

  it('records views and browses as events and returns them', async () => {
    const view = await gql(app, ViewProductDocument, { customerId, productId });
    expect(view.data!.viewProduct).toMatchObject({ eventType: 'view_product', customerId, productId });
    const product = await t.db.product.findUniqueOrThrow({ where: { productId } });
    const browse = await gql(app, BrowseCategoryDocument, { customerId, categoryId: product.categoryId });
    expect(browse.data!.browseCategory).toMatchObject({ eventType: 'browse_category', categoryId: product.categoryId });
    const events = await gql(app, EventsDocument, { customerId, first: 2 });
    expect(events.data!.behaviorEvents.edges.map((e) => e.node.eventType)).toEqual(['browse_category', 'view_product']);
  });

  it('records a shown recommendation list and a click on it, tied by listId, and refuses bad reports whole', async () => {
    const listId = '5b0c1d1e-0000-4000-8000-00000000abcd';
    const second = (await t.db.product.findFirstOrThrow({ where: { productId: { gt: productId } } })).productId;
    const shown = await gql<any, any>(
      app,
      `mutation($items: [ShownRecommendationInput!]!) {
      recordRecommendationImpressions(customerId: ${customerId}, listId: "${listId}", recommender: "ours-v2", items: $items) }`,
      {
        items: [
          { productId, position: 1, reason: 'popular in X', source: 'trending' },
          { productId: second, position: 2 },
        ],
      },
    );
    expect(shown.errors).toBeUndefined();
    expect(shown.data.recordRecommendationImpressions).toBe(2);
    const click = await gql<any, any>(
      app,
      `mutation { recordRecommendationClick(customerId: ${customerId}, listId: "${listId}", recommender: "ours-v2",
      item: { productId: ${second}, position: 2 }) { eventType productId context } }`,
    );
    expect(click.errors).toBeUndefined();
    expect(click.data.recordRecommendationClick).toMatchObject({
      eventType: 'recommendation_click',
      productId: second,
      context: { listId, position: 2, recommender: 'ours-v2' },
    });
    const rows = await t.pool.query(
      "SELECT event_type::text AS type, context->>'position' AS position FROM behavior_events WHERE context->>'listId' = $1 ORDER BY event_id",
      [listId],
    );
    expect(rows.rows).toEqual([
      { type: 'recommendation_impression', position: '1' },
      { type: 'recommendation_impression', position: '2' },
      { type: 'recommendation_click', position: '2' },
      { type: 'view_product', position: null },
    ]);
    // A bad position, an unknown product in the middle of a list, a bad listId: typed errors, nothing written.
    const before = (await t.pool.query('SELECT count(*)::int AS n FROM behavior_events')).rows[0].n;
    for (const [items, id, code] of [
      [[{ productId, position: 0 }], listId, 'BAD_USER_INPUT'],
      [
        [
          { productId, position: 1 },
          { productId: 999_999, position: 2 },
        ],
        listId,
        'NOT_FOUND',
      ],
      [[{ productId, position: 1 }], 'not-a-uuid', 'BAD_USER_INPUT'],
    ] as const) {
      const bad = await gql<any, any>(
        app,
        `mutation($items: [ShownRecommendationInput!]!, $id: String!) { recordRecommendationImpressions(customerId: ${customerId}, listId: $id, items: $items) }`,
        { items, id },
      );
      expect(bad.errors?.[0]?.extensions?.code, JSON.stringify(bad.errors)).toBe(code);
    }
    expect((await t.pool.query('SELECT count(*)::int AS n FROM behavior_events')).rows[0].n).toBe(before);
  });

  it('adds to and removes from the cart, adds to the wishlist, and places an order', async () => {
    const added = await gql(app, AddToCartDocument, { customerId, productId, quantity: 2 });
    expect(added.data!.addToCart).toMatchObject({ quantity: 2, product: { productId }, customer: { customerId } });
    const second = (await t.db.product.findFirstOrThrow({ where: { productId: { gt: productId } } })).productId;
    await gql(app, AddToCartDocument, { customerId, productId: second, quantity: 1 });
    const removed = await gql(app, RemoveFromCartDocument, { customerId, productId: second });
    expect(removed.data!.removeFromCart).toMatchObject({ quantity: 1, product: { productId: second } });
    const wish = await gql(app, AddToWishlistDocument, { customerId, productId });
    expect(wish.data!.addToWishlist!.product.productId).toBe(productId);
    const order = await gql(app, PlaceOrderDocument, { customerId, paymentMethod: 'paypal' });
    expect(order.errors).toBeUndefined();
    const o = order.data!.placeOrder;
    expect(['paid', 'cancelled']).toContain(o.status);
    expect(o.payment!.amount).toBe(o.totalPrice);
    expect(o.items.totalCount).toBe(1);
    expect(Number(o.totalPrice)).toBeCloseTo(Number(o.items.edges[0]!.node.price) * 2, 2);
  });

  it('maps domain failures to typed errors', async () => {
    const bounds = await gql(app, AddToCartDocument, { customerId, productId, quantity: 101 });
    expect(bounds.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'quantity' } });
    await t.db.product.update({ where: { productId }, data: { stock: 5 } });
    const tooMany = await gql(app, AddToCartDocument, { customerId, productId, quantity: 60 });
    expect(tooMany.errors![0]!.extensions!.code).toBe('OUT_OF_STOCK');
    await t.db.cart.deleteMany({ where: { customerId: 2 } });
    const empty = await gql(app, PlaceOrderDocument, { customerId: 2 });
    expect(empty.errors![0]!.extensions!.code).toBe('EMPTY_CART');
    const unknown = await gql(app, ViewProductDocument, { customerId: 999_999, productId });
    expect(unknown.errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });
});

describe('GraphQL admin mutations', () => {
  /** Polls a simulation run until it is no longer running (at most 20 s). */
  async function finished(id: string) {
    for (let i = 0; i < 100; i++) {
      const run = (await gql(app, SimulationRunDocument, { id })).data!.simulationRun!;
      if (run.status !== 'running') return run;
      await new Promise((r) => setTimeout(r, 200));
    }
    return (await gql(app, SimulationRunDocument, { id })).data!.simulationRun!;
  }

  it('starts a simulation in the background and reports its progress', async () => {
    const started = await gql(app, SimulateDocument, { sessions: 3, speed: 2000, durationMinutes: 0.5 });
    expect(started.errors).toBeUndefined();
    expect(started.data!.simulate).toMatchObject({ status: 'running', mode: 'live' });
    const run = await finished(started.data!.simulate.id);
    expect(run).toMatchObject({ status: 'completed', progress: 1, sessionsDone: 3 });
    expect(run.eventsWritten).toBeGreaterThan(0);
  });

  it('validates simulate arguments with a typed error', async () => {
    const bad = await gql(app, SimulateDocument, { sessions: -5 });
    expect(bad.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'sessions' } });
  });

  it('generates data and clears activity', async () => {
    // Counted, not hard-coded: a live session signs a new customer up now and then (ACCOUNT_CHANCES).
    const customers = await t.db.customer.count();
    const generated = await gql(app, GenerateDataDocument, { categories: 1, products: 5, customers: 5 });
    expect(generated.data!.generateData).toEqual({ categories: 1, products: 5, customers: 5 });
    const cleared = await gql(app, ClearDataDocument, { scope: 'ACTIVITY' });
    const counts = Object.fromEntries(cleared.data!.clearData.map((c) => [c.table, c.rows]));
    expect(counts.behavior_events).toBeGreaterThan(0);
    expect(await t.db.behaviorEvent.count()).toBe(0);
    expect(await t.db.customer.count()).toBe(customers + 5);
    const again = await gql(app, SimulateDocument, { sessions: 1, speed: 5000, durationMinutes: 0.1 });
    expect(again.data!.simulate.status).toBe('running');
    expect((await finished(again.data!.simulate.id)).status).toBe('completed');
  });

  it('clearData on a captured database is refused, deleting nothing, while the change capture cannot follow it', async () => {
    // A replication slot under the configured name: the database is captured, but no Kafka Connect answers
    // (CONNECT_URL of the test app points at a closed port), so topics and Flink state could not be reset.
    const slot = SLOT;
    await t.pool.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    try {
      const customers = await t.db.customer.count();
      const events = await t.db.behaviorEvent.count();
      const refused = await gql(app, ClearDataDocument, { scope: 'ALL' });
      expect(refused.errors![0]).toMatchObject({ extensions: { code: 'RESET_REFUSED' } });
      expect(refused.errors![0]!.message).toMatch(/replication slot .*Kafka Connect is not reachable.*nothing was deleted.*rtrec stack up/);
      expect(await t.db.customer.count()).toBe(customers);
      expect(await t.db.behaviorEvent.count()).toBe(events);
    } finally {
      await t.pool.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
  });

  it('requires an admin token, on loopback too: none, a wrong one and a lesser role are refused', async () => {
    const customers = await t.db.customer.count();
    const anonymous = await gql(app, GenerateDataDocument, { categories: 0, products: 0, customers: 1 }, await as('anonymous'));
    expect(anonymous.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    const wrong = await gql(app, ClearDataDocument, { scope: 'ALL' }, { authorization: 'Bearer wrong' });
    expect(wrong.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    const analyst = await gql(app, ClearDataDocument, { scope: 'ALL' }, await as('analyst'));
    expect(analyst.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(await t.db.customer.count()).toBe(customers);
    const ok = await gql(app, GenerateDataDocument, { categories: 0, products: 0, customers: 1 }, await as('admin'));
    expect(ok.data!.generateData.customers).toBe(1);
  });
});
