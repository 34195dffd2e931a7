import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCES } from '../../src/api/resources.js';
import { type App, as, createTestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { simulatedShop } from '../helpers/history.js';

let t: TestDatabase;
let app: App;
beforeAll(async () => {
  t = await createTestDatabase('rest');
  await simulatedShop(t, { categories: 4, products: 30, customers: 25, seed: 8 }, { sessionsPerDay: 40, days: 2, seed: 1, features: false });
  app = createTestApp(t).app;
});
afterAll(() => t.drop());

const get = async (path: string) => {
  const response = await app.fetch(`http://localhost${path}`, { headers: await as('admin') });
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, type, body: type.includes('json') ? await response.json() : await response.text() };
};

describe('REST API (the seed endpoints)', () => {
  it('describes itself at / and checks the database at /health', async () => {
    const root = await get('/');
    expect(root.body).toMatchObject({ name: 'rtrec', graphql: '/graphql', docs: '/docs' });
    expect(root.body.endpoints).toEqual(
      expect.arrayContaining(['/customers', '/products', '/categories', '/carts', '/orders', '/order_item', '/wishlist', '/payment']),
    );
    const health = await get('/health');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok', database: 'up' } });
  });

  it.each(['/customers', '/products', '/categories', '/carts', '/orders', '/order_item', '/wishlist', '/payment', '/shipments', '/behavior_events'])(
    'serves %s as paginated JSON',
    async (path) => {
      const page = await get(`${path}?limit=3`);
      expect(page.status).toBe(200);
      expect(page.body.pagination).toMatchObject({ limit: 3, offset: 0 });
      expect(page.body.data.length).toBe(Math.min(3, page.body.pagination.total));
      expect(page.body.pagination.total).toBeGreaterThan(0);
    },
  );

  it('pages with limit/offset and a next link, in id order', async () => {
    const first = await get('/customers?limit=10');
    expect(first.body.pagination).toMatchObject({ total: 25, next: '/customers?limit=10&offset=10' });
    const second = await get(first.body.pagination.next);
    expect(second.body.data[0].customerId).toBeGreaterThan(first.body.data[9].customerId);
    const last = await get('/customers?limit=10&offset=20');
    expect(last.body.data).toHaveLength(5);
    expect(last.body.pagination.next).toBeNull();
  });

  it('never returns password hashes', async () => {
    const page = await get('/customers?limit=100');
    expect(JSON.stringify(page.body)).not.toMatch(/password|scrypt\$/i);
  });

  it('applies filters and returns money as exact strings', async () => {
    const order = await t.db.order.findFirstOrThrow();
    const page = await get(`/orders?customerId=${order.customerId}&limit=100`);
    expect(page.body.data.every((o: { customerId: number }) => o.customerId === order.customerId)).toBe(true);
    expect(page.body.data[0].totalPrice).toMatch(/^\d+\.\d{2}$/);
    const paid = await get('/payment?status=failed&limit=100');
    expect(paid.body.data.every((p: { status: string }) => p.status === 'failed')).toBe(true);
  });

  it('rejects bad parameters with 400 and a message that names the fix', async () => {
    expect(await get('/customers?limit=1000')).toMatchObject({ status: 400, body: { error: { code: 'BAD_USER_INPUT' } } });
    const unknown = await get('/customers?colour=red');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/Unknown query parameter "colour". Allowed: limit, offset/);
    expect((await get('/orders?status=lost')).body.error.message).toMatch(/one of pending, paid/);
    expect((await get('/orders?from=notadate')).status).toBe(400);
    expect((await get('/products?minPrice=abc')).status).toBe(400);
    const post = await app.fetch('http://localhost/customers', { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('publishes an OpenAPI 3 document covering every endpoint', async () => {
    const spec = await get('/openapi.json');
    expect(spec.body.openapi).toMatch(/^3\./);
    for (const r of RESOURCES) expect(Object.keys(spec.body.paths)).toContain(r.restPath);
    expect(spec.body.components.schemas.Customer.properties).not.toHaveProperty('passwordHash');
  });

  it('serves the interactive docs page with its assets from this server only (works offline)', async () => {
    const page = await get('/docs');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<meta charset="utf-8">');
    const urls = [...String(page.body).matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      expect(url.startsWith('/')).toBe(true);
      expect((await app.fetch(`http://localhost${url}`)).status).toBe(200);
    }
  });
});

describe('GraphiQL', () => {
  it('is served at /graphql for browsers and loads nothing from other hosts', async () => {
    const response = await app.fetch('http://localhost/graphql', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).not.toMatch(/unpkg\.com|jsdelivr|cdnjs|googleapis/);
    expect(html).not.toMatch(/(?:src|href)="https?:\/\//);
  });
});
