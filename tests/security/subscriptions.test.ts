import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../src/cdc/envelope.js';
import { processMessage } from '../../src/cdc/envelope.js';
import { generateData } from '../../src/datagen/generate.js';
import { listen, type RunningServer } from '../../src/server/http.js';
import { as, createTestApp, subscriptionClient } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/* Every subscription event passes the policy: customers get only their own changes, analysts masked rows. */

let t: TestDatabase;
let server: RunningServer;
let publish: (e: ChangeEvent) => void;
const clients: Client[] = [];
let a: number;
let b: number;

beforeAll(async () => {
  t = await createTestDatabase('subs_sec');
  await generateData(t.pool, { categories: 2, products: 5, customers: 3, seed: 1 });
  [a, b] = (await t.db.customer.findMany({ orderBy: { customerId: 'asc' }, take: 2 })).map((c) => c.customerId) as [number, number];
  const test = createTestApp(t);
  publish = test.changes.publish;
  server = await listen(test.app, '127.0.0.1', 0);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await server?.close();
  await t?.drop();
});

const client = (...args: Parameters<typeof subscriptionClient> extends [string, ...infer R] ? R : never) => {
  const c = subscriptionClient(server.url, ...args);
  clients.push(c);
  return c;
};

const change = (table: ChangeEvent['table'], after: Record<string, unknown>): ChangeEvent => ({
  table,
  operation: 'UPDATE',
  before: null,
  after,
  committedAt: new Date(),
  lsn: null,
  receivedAt: new Date(),
  position: { topic: `shop.public.${table}`, partition: 0, offset: '0' },
});

/** Collects what `c` receives for `query` (results and errors). */
function watch(c: Client, query: string) {
  const got: any[] = [];
  const errors: any[] = [];
  const stop = c.subscribe(
    { query },
    {
      next: (v) => (v.errors ? errors.push(...v.errors) : got.push(v.data)),
      error: (e) => errors.push(...(Array.isArray(e) ? e : [e])),
      complete: () => undefined,
    },
  );
  return { got, errors, stop };
}
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('subscriptions under the policy', () => {
  it("customers A and B on the same operation each get only their own changes (the multicast key holds the caller's scope)", async () => {
    const query = 'subscription { orderChanged { after { orderId customerId } } }';
    const forA = watch(client('customer', a), query);
    const forB = watch(client('customer', b), query);
    const forAdmin = watch(client('admin'), query);
    await settle();
    publish(change('orders', { orderId: 901, customerId: b }));
    publish(change('orders', { orderId: 902, customerId: a }));
    await expect.poll(() => forAdmin.got.length).toBe(2);
    await settle();
    expect(forA.got).toEqual([{ orderChanged: { after: { orderId: 902, customerId: a } } }]);
    expect(forB.got).toEqual([{ orderChanged: { after: { orderId: 901, customerId: b } } }]);
    for (const w of [forA, forB, forAdmin]) w.stop();
  });

  it("A's tableChanged, customerChanged and behaviorEvent streams hold no row of B", async () => {
    const c = client('customer', a);
    const table = watch(c, 'subscription { tableChanged(table: "carts") { after } }');
    const profile = watch(c, 'subscription { customerChanged { after { customerId email } } }');
    const events = watch(c, 'subscription { behaviorEvent { after { customerId eventType } } }');
    await settle();
    publish(change('carts', { cartId: 1, customerId: b, productId: 1, quantity: 1 }));
    publish(change('customers', { customerId: b, email: 'b@example.com' }));
    publish(change('behavior_events', { eventId: 10n, customerId: b, eventType: 'view_product' }));
    publish(change('carts', { cartId: 2, customerId: a, productId: 1, quantity: 2 }));
    publish(change('customers', { customerId: a, email: 'a@example.com' }));
    publish(change('behavior_events', { eventId: 11n, customerId: a, eventType: 'view_product' }));
    await expect.poll(() => table.got.length + profile.got.length + events.got.length).toBe(3);
    await settle();
    expect(table.got.map((g) => g.tableChanged.after.customerId)).toEqual([a]);
    expect(profile.got).toEqual([{ customerChanged: { after: { customerId: a, email: 'a@example.com' } } }]);
    expect(events.got.map((g) => g.behaviorEvent.after.customerId)).toEqual([a]);
    for (const w of [table, profile, events]) w.stop();
  });

  it.each([
    [`subscription { customerChanged(customerId: ${'B'}) { operation } }`, 'FORBIDDEN'],
    [`subscription { recommendationsUpdated(customerId: ${'B'}) { customerId } }`, 'FORBIDDEN'],
    ['subscription { orderItemChanged { operation } }', 'FORBIDDEN'],
    ['subscription { tableChanged(table: "order_items") { table } }', 'FORBIDDEN'],
    ['subscription { fraudAlert { rule } }', 'FORBIDDEN'],
  ])('A may not subscribe to %s', async (template, code) => {
    const w = watch(client('customer', a), template.replace('B', String(b)));
    await expect.poll(() => w.errors.length).toBeGreaterThan(0);
    expect(w.errors[0].extensions?.code ?? w.errors[0].message).toBe(code);
  });

  it("a service and the customer get the customer's recommendation list; another customer does not", async () => {
    const query = `subscription { recommendationsUpdated(customerId: ${a}, first: 3) { customerId } }`;
    const forService = watch(client('service'), query);
    const forA = watch(client('customer', a), query);
    await expect.poll(() => forService.got.length + forA.got.length).toBe(2);
    expect(forService.got[0]).toEqual({ recommendationsUpdated: { customerId: a } });
    expect(forA.got[0]).toEqual({ recommendationsUpdated: { customerId: a } });
    const forB = watch(client('customer', b), query);
    await expect.poll(() => forB.errors.length).toBe(1);
    expect(forB.errors[0].extensions.code).toBe('FORBIDDEN');
    for (const w of [forService, forA, forB]) w.stop();
  });

  it('anonymous may watch the catalogue but not customers', async () => {
    const c = client('anonymous');
    const denied = watch(c, 'subscription { customerChanged { operation } }');
    const products = watch(c, 'subscription { productChanged { after { productId } } }');
    await expect.poll(() => denied.errors.length).toBe(1);
    expect(denied.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    await settle();
    publish(change('products', { productId: 3 }));
    await expect.poll(() => products.got).toEqual([{ productChanged: { after: { productId: 3 } } }]);
    products.stop();
  });

  it('an analyst sees changes with PII masked, and no stream ever carries password_hash', async () => {
    const c = client('analyst');
    const typed = watch(c, 'subscription { customerChanged { after { customerId firstName email phoneNumber } } }');
    const json = watch(c, 'subscription { tableChanged(table: "customers") { after } }');
    const admin = watch(client('admin'), 'subscription { tableChanged(table: "customers") { after } }');
    await settle();
    // Straight into the pubsub, as if a connector had published the hash.
    publish(change('customers', { customerId: a, firstName: 'Ann', email: 'ann@example.com', phoneNumber: '+1 555', passwordHash: 'scrypt$secret' }));
    await expect.poll(() => typed.got.length + json.got.length + admin.got.length).toBe(3);
    expect(typed.got[0].customerChanged.after).toEqual({ customerId: a, firstName: 'Ann', email: '***', phoneNumber: '***' });
    expect(json.got[0].tableChanged.after).toEqual({ customerId: a, firstName: 'Ann', email: '***', phoneNumber: '***' });
    expect(admin.got[0].tableChanged.after).toEqual({ customerId: a, firstName: 'Ann', email: 'ann@example.com', phoneNumber: '+1 555' });
    // And the bridge drops the column before anything is published.
    const parsed = processMessage(
      { topic: 'shop.public.customers', value: JSON.stringify({ op: 'c', after: { customer_id: 5, password_hash: 'scrypt$x' }, source: { ts_ms: 1 } }) },
      'shop',
    )!;
    expect(parsed.after).toEqual({ customerId: 5 });
  });

  it('accepts the token on SSE and applies the same policy there', async () => {
    const sse = async (headers: Record<string, string>) => {
      const controller = new AbortController();
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
        body: JSON.stringify({ query: 'subscription { orderChanged { after { orderId customerId } } }' }),
        signal: controller.signal,
      });
      return { response, controller };
    };
    const anonymous = await sse(await as('anonymous'));
    const denied = await anonymous.response.text();
    expect(denied).toMatch(/UNAUTHENTICATED/);
    const mine = await sse(await as('customer', a));
    setTimeout(() => {
      publish(change('orders', { orderId: 903, customerId: b }));
      publish(change('orders', { orderId: 904, customerId: a }));
    }, 300);
    const reader = mine.response.body!.getReader();
    let text = '';
    while (!text.includes('904')) text += new TextDecoder().decode((await reader.read()).value);
    mine.controller.abort();
    expect(text).not.toMatch(/903/);
  });
});
