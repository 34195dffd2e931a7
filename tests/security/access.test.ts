import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, as, createTestApp, gql, TEST_AUTH_SECRET, token } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { simulatedShop } from '../helpers/history.js';

/*
 * The role policy (src/security/policy.ts) as a caller meets it: every role against every kind of operation,
 * one customer against another's rows, masked PII, and tokens that must not be accepted.
 */

let t: TestDatabase;
let app: App;
let stop: () => Promise<void>;
/** Two customers who both have orders, cart lines and events. */
let a: number;
let b: number;
let product: number;

beforeAll(async () => {
  t = await createTestDatabase('sec');
  await simulatedShop(t, { categories: 3, products: 20, customers: 12, seed: 5 }, { sessionsPerDay: 60, days: 3, seed: 4, features: false });
  const { rows } = await t.pool.query<{ customer_id: number }>(
    'SELECT customer_id FROM orders GROUP BY customer_id HAVING count(*) >= 1 ORDER BY count(*) DESC, customer_id LIMIT 2',
  );
  [a, b] = rows.map((r) => r.customer_id) as [number, number];
  product = (await t.db.product.findFirstOrThrow({ where: { isActive: true, stock: { gt: 10 } } })).productId;
  const test = createTestApp(t);
  app = test.app;
  stop = () => test.simulations.shutdown();
});
afterAll(async () => {
  await stop?.();
  await t?.drop();
});

type Caller = 'admin' | 'service' | 'analyst' | 'customer' | 'anonymous';
const CALLERS: Caller[] = ['admin', 'service', 'analyst', 'customer', 'anonymous'];
const headersOf = (caller: Caller) => (caller === 'customer' ? as('customer', a) : as(caller));
const outcome = (result: { data?: unknown; errors?: { extensions?: { code?: string } }[] }) => result.errors?.[0]?.extensions?.code ?? 'ok';

const OK = 'ok';
const NO = 'FORBIDDEN';
const ANON = 'UNAUTHENTICATED';

/** operation → expected outcome for admin, service, analyst, customer (as customer a), anonymous. */
const TABLE: [string, () => string, [string, string, string, string, string]][] = [
  ['products (catalogue)', () => '{ products(first: 1) { totalCount } }', [OK, OK, OK, OK, OK]],
  ['categories (catalogue)', () => '{ categories(first: 1) { totalCount } }', [OK, OK, OK, OK, OK]],
  ['trendingProducts', () => '{ trendingProducts(first: 3) { productId } }', [OK, OK, OK, OK, OK]],
  ['similarProducts', () => `{ similarProducts(productId: ${product}) { productId } }`, [OK, OK, OK, OK, OK]],
  ['customers', () => '{ customers(first: 1) { totalCount } }', [OK, NO, OK, OK, ANON]],
  ['orders', () => '{ orders(first: 1) { totalCount } }', [OK, NO, OK, OK, ANON]],
  ['orderItems', () => '{ orderItems(first: 1) { totalCount } }', [OK, NO, OK, OK, ANON]],
  ['behaviorEvents', () => '{ behaviorEvents(first: 1) { totalCount } }', [OK, NO, OK, OK, ANON]],
  ['payments', () => '{ payments(first: 1) { totalCount } }', [OK, NO, OK, OK, ANON]],
  ['product → carts (to-many relation)', () => `{ product(productId: ${product}) { carts(first: 1) { totalCount } } }`, [OK, NO, OK, OK, NO]],
  ['fraudAlerts (analytics)', () => '{ fraudAlerts(first: 1) { edges { cursor } } }', [OK, NO, OK, NO, ANON]],
  ['revenueStats (analytics)', () => '{ revenueStats(first: 1) { edges { cursor } } }', [OK, NO, OK, NO, ANON]],
  ['topProducts (analytics)', () => '{ topProducts(first: 1) { edges { cursor } } }', [OK, NO, OK, NO, ANON]],
  ['simulationRuns', () => '{ simulationRuns(first: 1) { totalCount } }', [OK, NO, OK, NO, ANON]],
  ['recommendations (own customer)', () => `{ recommendations(customerId: ${a}) { productId } }`, [OK, OK, OK, OK, ANON]],
  ['viewProduct (storefront, own customer)', () => `mutation { viewProduct(customerId: ${a}, productId: ${product}) { eventType } }`, [OK, OK, NO, OK, ANON]],
  [
    'addToWishlist (storefront, own customer)',
    () => `mutation { addToWishlist(customerId: ${a}, productId: ${product}) { productId } }`,
    [OK, OK, NO, OK, ANON],
  ],
  ['generateData (admin)', () => 'mutation { generateData(categories: 0, products: 0, customers: 0) { customers } }', [OK, NO, NO, NO, ANON]],
  ['clearData (admin)', () => 'mutation { clearData(scope: ALL) { table } }', ['skip', NO, NO, NO, ANON]],
  [
    'createExperiment (admin)',
    () =>
      `mutation { createExperiment(input: { name: "access ${Math.random().toString(36).slice(2)}", placement: "access", variants: [{ name: "a", recommender: "ours" }, { name: "b", recommender: "random" }] }) { id } }`,
    [OK, NO, NO, NO, ANON],
  ],
  ['startExperiment (admin)', () => 'mutation { startExperiment(id: 2147483647) { id } }', ['NOT_FOUND', NO, NO, NO, ANON]],
  ['stopExperiment (admin)', () => 'mutation { stopExperiment(id: 2147483647) { id } }', ['NOT_FOUND', NO, NO, NO, ANON]],
  ['experiments (staff)', () => '{ experiments { id variants { name ctr } } }', [OK, NO, OK, NO, ANON]],
  [
    'createMerchandisingRule (admin)',
    () => 'mutation { createMerchandisingRule(input: { name: "x", action: filter, productId: 2147483647 }) { id } }',
    ['NOT_FOUND', NO, NO, NO, ANON],
  ],
  ['deleteMerchandisingRule (admin)', () => 'mutation { deleteMerchandisingRule(id: 2147483647) { id } }', ['NOT_FOUND', NO, NO, NO, ANON]],
  ['merchandisingRules (staff)', () => '{ merchandisingRules { id } }', [OK, NO, OK, NO, ANON]],
];

describe('role × operation', () => {
  for (const [name, query, expected] of TABLE) {
    it.each(CALLERS.map((caller, i) => [caller, expected[i]!] as const).filter(([, e]) => e !== 'skip'))(`${name}: %s → %s`, async (caller, expectation) => {
      const result = await gql(app, query(), undefined, await headersOf(caller));
      expect(outcome(result), JSON.stringify(result.errors)).toBe(expectation);
      if (expectation === OK) expect(result.data).toBeTruthy();
    });
  }

  it('a schema with a root field the policy does not name is refused at startup (nothing is exposed by omission)', async () => {
    const { GraphQLObjectType, GraphQLSchema, GraphQLString } = await import('graphql');
    const { applyPolicy } = await import('../../src/graphql/authorize.js');
    const schema = new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields: { secrets: { type: GraphQLString } } }) });
    expect(() => applyPolicy(schema)).toThrow(/No authorization rule for Query.secrets/);
  });
});

describe('customer A and customer B', () => {
  it("A cannot look up B's profile or order: they do not exist for A", async () => {
    const other = await gql(app, `{ customer(customerId: ${b}) { email } }`, undefined, await as('customer', a));
    expect(outcome(other)).toBe('NOT_FOUND');
    const order = await t.db.order.findFirstOrThrow({ where: { customerId: b } });
    const read = await gql(app, `{ order(orderId: ${order.orderId}) { totalPrice } }`, undefined, await as('customer', a));
    expect(outcome(read)).toBe('NOT_FOUND');
    const own = await gql<any, any>(app, `{ customer(customerId: ${a}) { customerId email } }`, undefined, await as('customer', a));
    expect(own.data.customer.customerId).toBe(a);
  });

  it('lists, filters and counts hold only A’s rows', async () => {
    const mine = await t.db.order.count({ where: { customerId: a } });
    const all = await gql<any, any>(
      app,
      '{ orders(first: 100) { totalCount edges { node { customerId } } } customers(first: 5) { totalCount } }',
      undefined,
      await as('customer', a),
    );
    expect(all.data.orders.totalCount).toBe(mine);
    expect(new Set(all.data.orders.edges.map((e: any) => e.node.customerId))).toEqual(new Set([a]));
    expect(all.data.customers.totalCount).toBe(1);
    const filtered = await gql<any, any>(app, `{ orders(customerId: ${b}) { totalCount } }`, undefined, await as('customer', a));
    expect(filtered.data.orders.totalCount).toBe(0);
  });

  it("A reaches no row of B through the catalogue's relations", async () => {
    const item = await t.db.orderItem.findFirstOrThrow({ where: { order: { customerId: b } } });
    const result = await gql<any, any>(
      app,
      `{ product(productId: ${item.productId}) { orderItems(first: 100) { totalCount edges { node { order { customerId } } } } } }`,
      undefined,
      await as('customer', a),
    );
    expect(result.errors).toBeUndefined();
    const owners = result.data.product.orderItems.edges.map((e: any) => e.node.order.customerId);
    expect(owners.every((id: number) => id === a)).toBe(true);
  });

  it("A cannot read B's recommendations nor act as B", async () => {
    const recs = await gql(app, `{ recommendations(customerId: ${b}) { productId } }`, undefined, await as('customer', a));
    expect(outcome(recs)).toBe(NO);
    const before = await t.db.behaviorEvent.count({ where: { customerId: b } });
    const act = await gql(app, `mutation { viewProduct(customerId: ${b}, productId: ${product}) { eventType } }`, undefined, await as('customer', a));
    expect(outcome(act)).toBe(NO);
    expect((act.errors![0] as { message: string }).message).toMatch(new RegExp(`acts only for its own customer \\(${a}\\)`));
    expect(await t.db.behaviorEvent.count({ where: { customerId: b } })).toBe(before);
  });

  it('REST serves A only their own rows, and nothing to anonymous', async () => {
    const mine = await app.fetch('http://localhost/orders?limit=100', { headers: await as('customer', a) });
    const body = await mine.json();
    expect(body.data.every((o: { customerId: number }) => o.customerId === a)).toBe(true);
    expect(body.pagination.total).toBe(await t.db.order.count({ where: { customerId: a } }));
    const anonymous = await app.fetch('http://localhost/customers');
    expect(anonymous.status).toBe(401);
    const service = await app.fetch('http://localhost/customers', { headers: await as('service') });
    expect(service.status).toBe(403);
    expect((await app.fetch('http://localhost/products?limit=1')).status).toBe(200);
  });
});

describe('a service acts for any customer in storefront mutations', () => {
  it('reads what the mutation returns as that customer, and nothing of the others', async () => {
    const result = await gql<any, any>(
      app,
      `mutation { addToCart(customerId: ${b}, productId: ${product}) { customerId customer { email } product { carts(first: 100) { edges { node { customerId } } } } } }`,
      undefined,
      await as('service'),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data.addToCart.customer.email).toMatch(/@/);
    const owners = result.data.addToCart.product.carts.edges.map((e: any) => e.node.customerId);
    expect(owners).toEqual([b]);
    // Outside a mutation the same service reads the catalogue only.
    expect(outcome(await gql(app, `{ carts(first: 1) { totalCount } }`, undefined, await as('service')))).toBe(NO);
  });
});

describe('analyst', () => {
  it('reads everything with PII masked, in GraphQL and REST; admin sees it', async () => {
    const analyst = await gql<any, any>(
      app,
      `{ customer(customerId: ${a}) { firstName lastName email phoneNumber address } shipments(first: 1) { edges { node { address zipCode city } } } }`,
      undefined,
      await as('analyst'),
    );
    expect(analyst.data.customer).toMatchObject({ lastName: '***', email: '***', phoneNumber: '***', address: '***' });
    expect(analyst.data.customer.firstName).not.toBe('***');
    expect(analyst.data.shipments.edges[0].node).toMatchObject({ address: '***', zipCode: '***' });
    const admin = await gql<any, any>(app, `{ customer(customerId: ${a}) { email } }`);
    expect(admin.data.customer.email).toMatch(/@/);
    const rest = await (await app.fetch('http://localhost/customers?limit=3', { headers: await as('analyst') })).json();
    expect(rest.data.map((c: { email: string }) => c.email)).toEqual(['***', '***', '***']);
  });
});

describe('tokens', () => {
  const secret = new TextEncoder().encode(TEST_AUTH_SECRET);
  const sign = (claims: Record<string, unknown>, exp: number | string = '1h', key = secret) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(exp).sign(key);
  const query = '{ customers(first: 1) { totalCount } }';
  const send = (authorization: string) =>
    app.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify({ query }) });

  it.each([
    ['an expired token', async () => `Bearer ${await sign({ role: 'admin' }, Math.floor(Date.now() / 1000) - 60)}`, /expired/],
    ['a token signed with another secret', async () => `Bearer ${await sign({ role: 'admin' }, '1h', new TextEncoder().encode('x'.repeat(40)))}`, /signature/],
    ['a token without exp', async () => `Bearer ${await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).sign(secret)}`, /"exp" claim/],
    ['an unknown role', async () => `Bearer ${await sign({ role: 'root' })}`, /"role" claim must be/],
    ['a customer token without customer_id', async () => `Bearer ${await sign({ role: 'customer' })}`, /customer_id/],
    ['an admin token with customer_id', async () => `Bearer ${await sign({ role: 'admin', customer_id: 3 })}`, /Only customer tokens/],
    [
      'an unsigned (alg none) token',
      async () => `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"role":"admin","exp":9999999999}').toString('base64url')}.`,
      /not a valid JWT|algorithm/,
    ],
    ['another scheme', async () => `Basic ${Buffer.from('admin:admin').toString('base64')}`, /must be "Bearer <token>"/],
  ])('refuses %s with 401 UNAUTHENTICATED and says why', async (_name, header, why) => {
    const response = await send(await header());
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(body.errors[0].message).toMatch(why);
    expect(body.data ?? null).toBeNull();
  });

  it('accepts a valid token and mints only what it can verify', async () => {
    const response = await send(`Bearer ${await token('admin')}`);
    expect(response.status).toBe(200);
    expect((await response.json()).data.customers.totalCount).toBeGreaterThan(0);
  });
});
