import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ChangeEvent } from '../../src/cdc/envelope.js';
import { generateData } from '../../src/datagen/generate.js';
import { listen, type RunningServer } from '../../src/server/http.js';
import { createTestApp, subscriptionClient, token } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
let server: RunningServer;
let publish: (e: ChangeEvent) => void;
let client: Client;

beforeAll(async () => {
  t = await createTestDatabase('subs');
  await generateData(t.pool, { categories: 2, products: 5, customers: 3, seed: 1 });
  const test = createTestApp(t);
  publish = test.changes.publish;
  server = await listen(test.app, '127.0.0.1', 0);
  client = subscriptionClient(server.url);
});
afterAll(async () => {
  await client?.dispose();
  await server?.close();
  await t?.drop();
});

let published = 0;
function change(
  table: ChangeEvent['table'],
  operation: ChangeEvent['operation'],
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): ChangeEvent {
  return {
    table,
    operation,
    before,
    after,
    committedAt: new Date(Date.now() - 5),
    lsn: '42',
    receivedAt: new Date(),
    position: { topic: `shop.public.${table}`, partition: 0, offset: String(published++) },
  };
}

/** Subscribes over graphql-ws and resolves with the first `count` results. */
function collect(query: string, count: number): { results: Promise<any[]>; ready: Promise<void> } {
  const results: any[] = [];
  let ready!: () => void;
  const readyPromise = new Promise<void>((r) => (ready = r));
  const promise = new Promise<any[]>((resolve, reject) => {
    const dispose = client.subscribe(
      { query },
      {
        next: (value) => {
          results.push(value);
          if (results.length === count) {
            dispose();
            resolve(results);
          }
        },
        error: reject,
        complete: () => resolve(results),
      },
    );
    // graphql-ws has no "subscribed" ack; give the server a moment to register the listener.
    setTimeout(ready, 300);
  });
  return { results: promise, ready: readyPromise };
}

describe('GraphQL subscriptions over WebSocket (graphql-ws)', () => {
  it('delivers customerChanged with typed before/after, filtered by customerId', async () => {
    const customer = await t.db.customer.findFirstOrThrow();
    const sub = collect(
      `subscription { customerChanged(customerId: ${customer.customerId}) { operation before { firstName } after { customerId firstName email orders { totalCount } } committedAt lsn latencyMs } }`,
      2,
    );
    await sub.ready;
    publish(change('customers', 'UPDATE', { customerId: 999, firstName: 'Other' }, { customerId: 999, firstName: 'Other2' }));
    publish(
      change(
        'customers',
        'UPDATE',
        { customerId: customer.customerId, firstName: 'Old' },
        { customerId: customer.customerId, firstName: 'New', email: customer.email },
      ),
    );
    publish(change('customers', 'DELETE', { customerId: customer.customerId, firstName: 'New' }, null));
    const [update, del] = await sub.results;
    expect(update.data.customerChanged).toMatchObject({
      operation: 'UPDATE',
      before: { firstName: 'Old' },
      after: { customerId: customer.customerId, firstName: 'New', orders: { totalCount: 0 } },
      lsn: '42',
    });
    expect(update.data.customerChanged.latencyMs).toBeGreaterThanOrEqual(0);
    expect(del.data.customerChanged).toMatchObject({ operation: 'DELETE', before: { firstName: 'New' }, after: null });
  });

  it('filters behaviour events by customer and type', async () => {
    const sub = collect('subscription { behaviorEvent(customerId: 1, eventType: add_to_cart) { operation after { eventId eventType customerId } } }', 1);
    await sub.ready;
    publish(change('behavior_events', 'CREATE', null, { eventId: 1n, customerId: 1, eventType: 'view_product' }));
    publish(change('behavior_events', 'CREATE', null, { eventId: 2n, customerId: 2, eventType: 'add_to_cart' }));
    publish(change('behavior_events', 'CREATE', null, { eventId: 3n, customerId: 1, eventType: 'add_to_cart' }));
    const [first] = await sub.results;
    expect(first.data.behaviorEvent.after).toEqual({ eventId: '3', eventType: 'add_to_cart', customerId: 1 });
  });

  it('streams any table through tableChanged and rejects unknown tables', async () => {
    const sub = collect('subscription { tableChanged(table: "orders") { table operation after } }', 1);
    await sub.ready;
    publish(change('orders', 'CREATE', null, { orderId: 5, totalPrice: '10.00' }));
    const [first] = await sub.results;
    expect(first.data.tableChanged).toEqual({ table: 'orders', operation: 'CREATE', after: { orderId: 5, totalPrice: '10.00' } });
    const bad = collect('subscription { tableChanged(table: "secrets") { table } }', 1);
    const [error] = await bad.results;
    expect(error.errors[0]).toMatchObject({ message: expect.stringMatching(/Unknown table "secrets"/), extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('gives every change a cursor naming its place in the topic, and refuses an after that is not one of its cursors', async () => {
    const sub = collect('subscription { paymentChanged { cursor operation } }', 2);
    await sub.ready;
    publish(change('payments', 'CREATE', null, { paymentId: 1 }));
    publish(change('payments', 'UPDATE', { paymentId: 1 }, { paymentId: 1 }));
    const [a, b] = (await sub.results).map((r) => r.data.paymentChanged.cursor as string);
    expect(a).toMatch(/^c1\.[A-Za-z0-9_-]+$/);
    expect(b).not.toBe(a);
    for (const [after, why] of [
      ['nonsense', /not a cursor/],
      [`c1.${Buffer.from('{"t":1}').toString('base64url')}`, /not a cursor/],
      [a, /belongs to the topic [^ ]+\.public\.payments, not to [^ ]+\.public\.orders/],
    ] as const) {
      const bad = collect(`subscription { orderChanged(after: ${JSON.stringify(after)}) { cursor } }`, 1);
      const [error] = await bad.results;
      expect(error.errors[0]).toMatchObject({ message: expect.stringMatching(why), extensions: { code: 'BAD_USER_INPUT', field: 'after' } });
    }
  });

  it('delivers a shared operation to each connection under its own id, and keeps delivering after one completes', async () => {
    const other = subscriptionClient(server.url);
    try {
      const query = 'subscription { orderChanged(orderId: 77) { operation after { orderId } } }';
      const first: any[] = [];
      const second: any[] = [];
      const stopFirst = client.subscribe({ query }, { next: (v) => first.push(v), error: () => undefined, complete: () => undefined });
      let secondDone!: () => void;
      const secondGot = new Promise<void>((r) => (secondDone = r));
      other.subscribe({ query }, { next: (v) => second.push(v) === 2 && secondDone(), error: () => undefined, complete: () => undefined });
      await new Promise((r) => setTimeout(r, 300));
      publish(change('orders', 'UPDATE', { orderId: 77 }, { orderId: 77 }));
      await expect.poll(() => first.length).toBe(1);
      stopFirst();
      await new Promise((r) => setTimeout(r, 100));
      publish(change('orders', 'DELETE', { orderId: 77 }, null));
      await secondGot;
      expect(first).toEqual([{ data: { orderChanged: { operation: 'UPDATE', after: { orderId: 77 } } } }]);
      expect(second.map((v) => v.data.orderChanged.operation)).toEqual(['UPDATE', 'DELETE']);
    } finally {
      await other.dispose();
    }
  });

  it('negotiates no compression when a client offers it, and sends next messages as whole text frames', async () => {
    // ws offers permessage-deflate by default, as browsers do.
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { perMessageDeflate: true });
    const messages: { text: string; binary: boolean }[] = [];
    socket.on('message', (data: Buffer, binary) => messages.push({ text: data.toString(), binary }));
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      expect(socket.extensions).toBe('');
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await token('admin')}` } }));
      await expect.poll(() => messages.map((m) => JSON.parse(m.text).type)).toEqual(['connection_ack']);
      socket.send(
        JSON.stringify({ id: 'raw-1', type: 'subscribe', payload: { query: 'subscription { orderChanged(orderId: 78) { operation after { orderId } } }' } }),
      );
      await new Promise((r) => setTimeout(r, 300));
      publish(change('orders', 'UPDATE', { orderId: 78 }, { orderId: 78 }));
      await expect.poll(() => messages.length).toBe(2);
      expect(messages[1]).toEqual({
        text: '{"id":"raw-1","type":"next","payload":{"data":{"orderChanged":{"operation":"UPDATE","after":{"orderId":78}}}}}',
        binary: false,
      });
    } finally {
      socket.close();
    }
  });
});

describe('GraphQL subscriptions over SSE', () => {
  it('delivers productChanged as server-sent events', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { productChanged { operation after { productId price } } }' }),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    setTimeout(() => publish(change('products', 'UPDATE', { productId: 1, price: '1.00' }, { productId: 1, price: '2.00' })), 300);
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('"price"')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toMatch(/"productChanged":\{"operation":"UPDATE","after":\{"productId":1,"price":"2.00"\}\}/);
  });
});
