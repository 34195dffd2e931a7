import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateData } from '../../src/datagen/generate.js';
import { listen, type RunningServer } from '../../src/server/http.js';
import { type App, as, createTestApp, token } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/*
 * What a hostile web page (or a careless client) can try against a server on 127.0.0.1: cross-site form
 * posts, CORS reads, DNS rebinding, foreign WebSocket origins, and oversized requests and messages.
 */

let t: TestDatabase;
let app: App;
let server: RunningServer;
let stop: () => Promise<void>;
const MAX_SUBSCRIPTIONS = 3;

beforeAll(async () => {
  t = await createTestDatabase('web_sec');
  await generateData(t.pool, { categories: 2, products: 5, customers: 3, seed: 1 });
  const test = createTestApp(t, { CORS_ORIGINS: 'https://shop.example', MAX_BODY_BYTES: String(64 * 1024) });
  app = test.app;
  stop = () => test.simulations.shutdown();
  server = await listen(app, '127.0.0.1', 0, {
    allowedHosts: undefined,
    corsOrigins: ['https://shop.example'],
    maxBodyBytes: 64 * 1024,
    ws: { maxPayloadBytes: 64 * 1024, maxSubscriptions: MAX_SUBSCRIPTIONS },
  });
});
afterAll(async () => {
  await stop?.();
  await server?.close();
  await t?.drop();
});

const evil = 'https://evil.example';

describe('cross-site requests', () => {
  it('refuses a cross-origin form POST of an admin mutation before any resolver runs, even with an admin token', async () => {
    const runs = await t.db.simulationRun.count();
    const form = new URLSearchParams({ query: 'mutation { simulate(sessions: 1) { id } }' }).toString();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { origin: evil, 'content-type': 'application/x-www-form-urlencoded', ...(await as('admin')) },
      body: form,
    });
    expect(response.status).toBe(403);
    expect((await response.json()).error.code).toBe('ORIGIN_NOT_ALLOWED');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(await t.db.simulationRun.count()).toBe(runs);
  });

  it('refuses a form POST without a browser Origin unless it carries the CSRF header (yoga CSRF prevention)', async () => {
    const form = new URLSearchParams({ query: '{ products(first: 1) { totalCount } }' }).toString();
    const plain = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    expect(plain.status).toBe(403);
    expect(await plain.text()).toMatch(/CSRF/);
    const withHeader = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-graphql-yoga-csrf': '1' },
      body: form,
    });
    expect(withHeader.status).toBe(200);
    const json = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ products(first: 1) { totalCount } }' }),
    });
    expect(json.status).toBe(200);
  });

  it('answers CORS only for CORS_ORIGINS, without credentials', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
    const foreign = await preflight(evil);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const read = await fetch(`${server.url}/products?limit=1`, { headers: { origin: evil } });
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await preflight('https://shop.example');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    const post = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { origin: 'https://shop.example', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ products(first: 1) { totalCount } }' }),
    });
    expect(post.status).toBe(200);
    expect(post.headers.get('access-control-allow-origin')).toBe('https://shop.example');
  });

  it('refuses a Host header that is not on the allow-list (DNS rebinding)', async () => {
    const rebinding = await app.fetch('http://attacker.example:4000/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ products(first: 1) { totalCount } }' }),
    });
    expect(rebinding.status).toBe(421);
    expect((await rebinding.json()).error.message).toMatch(/ALLOWED_HOSTS/);
    expect((await app.fetch('http://attacker.example/customers')).status).toBe(421);
    expect((await app.fetch('http://localhost:4000/products?limit=1')).status).toBe(200);
    expect((await app.fetch('http://127.0.0.1/products?limit=1')).status).toBe(200);
  });
});

/** Opens a graphql-ws socket; resolves with it open, or rejects with the HTTP status of a refused upgrade. */
function openSocket(headers: Record<string, string> = {}, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers, origin });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

function messages(socket: WebSocket): { list: any[]; closed: Promise<{ code: number; reason: string }> } {
  const list: any[] = [];
  socket.on('message', (data: Buffer) => list.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { list, closed };
}

describe('WebSocket', () => {
  it('refuses an upgrade from a foreign Origin and from a foreign Host, and accepts its own origin', async () => {
    await expect(openSocket({}, evil)).rejects.toThrow(/upgrade refused: 403/);
    await expect(openSocket({ host: 'attacker.example' })).rejects.toThrow(/upgrade refused: 421/);
    const own = await openSocket({}, server.url);
    own.close();
    const configured = await openSocket({}, 'https://shop.example');
    configured.close();
  });

  it('closes a connection whose connection_init carries an invalid token, with the reason', async () => {
    const socket = await openSocket();
    const { closed } = messages(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer not.a.token' } }));
    const { code, reason } = await closed;
    expect(code).toBe(4403);
    expect(reason).toMatch(/not a valid JWT/);
  });

  it('closes a connection when its token expires', async () => {
    const socket = await openSocket();
    const { list, closed } = messages(socket);
    const started = Date.now();
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await token('analyst', undefined, 2)}` } }));
    await expect.poll(() => list.map((m) => m.type)).toContain('connection_ack');
    const { code, reason } = await closed;
    expect(code).toBe(4403);
    expect(reason).toMatch(/token has expired/);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('closes a connection that sends a message larger than 64 KiB', async () => {
    const socket = await openSocket();
    const { closed } = messages(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(70 * 1024) } }));
    expect((await closed).code).toBe(1009);
  });

  it(`caps subscriptions per connection at ${MAX_SUBSCRIPTIONS}`, async () => {
    const socket = await openSocket();
    const { list } = messages(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${await token('admin')}` } }));
    await expect.poll(() => list.map((m) => m.type)).toContain('connection_ack');
    for (let i = 1; i <= MAX_SUBSCRIPTIONS + 1; i++)
      socket.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query: `subscription { productChanged(productId: ${i}) { operation } }` } }));
    await expect.poll(() => list.filter((m) => m.type === 'error').length).toBe(1);
    const refused = list.find((m) => m.type === 'error');
    expect(refused.id).toBe(`s${MAX_SUBSCRIPTIONS + 1}`);
    expect(refused.payload[0].message).toMatch(/At most 3 subscriptions per connection \(WS_MAX_SUBSCRIPTIONS\)/);
    socket.close();
  });
});

describe('request size', () => {
  it('answers 413 to a body over MAX_BODY_BYTES and 411 to a body of unknown length', async () => {
    const big = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ products(first: 1) { totalCount } }`, variables: { pad: 'x'.repeat(100 * 1024) } }),
    });
    expect(big.status).toBe(413);
    expect((await big.json()).error.message).toMatch(/MAX_BODY_BYTES/);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${server.url}/graphql`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"query":');
      req.end('"{ __typename }"}');
    });
    expect(chunked).toBe(411);
  });
});
