import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateData } from '../../src/datagen/generate.js';
import { listen, type RunningServer } from '../../src/server/http.js';
import { as, createTestApp, gql, subscriptionClient } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { freePort } from '../helpers/net.js';

/* /metrics on the real app and a real PostgreSQL: who may scrape it, and that each part reports into it. */

const SCRAPE_TOKEN = 'scrape-secret-for-tests-0123456789abcdef';
let t: TestDatabase;
let test: ReturnType<typeof createTestApp>;
let server: RunningServer;
let customerId: number;

beforeAll(async () => {
  t = await createTestDatabase('metrics');
  await generateData(t.pool, { categories: 2, products: 6, customers: 2, seed: 3 });
  customerId = (await t.db.customer.findFirstOrThrow()).customerId;
  // Engines that do not answer: the scrape must still succeed, quickly, with rtrec_engine_up 0.
  const closed = await freePort();
  test = createTestApp(t, {
    METRICS_TOKEN: SCRAPE_TOKEN,
    FLINK_REST_URL: `http://127.0.0.1:${closed}`,
    CONNECT_URL: `http://127.0.0.1:${closed}`,
    METRICS_ENGINE_TIMEOUT_MS: '300',
  });
  server = await listen(test.app, '127.0.0.1', 0, undefined, test.services.metrics.sockets);
});
afterAll(async () => {
  await server?.close();
  await test?.services.close();
  await t?.drop();
});

async function scrape(headers: Record<string, string> = { authorization: `Bearer ${SCRAPE_TOKEN}` }): Promise<Response> {
  return test.app.fetch('http://localhost/metrics', { headers });
}

async function metricsText(): Promise<string> {
  const response = await scrape();
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one sample, e.g. value(text, 'rtrec_sse_connections'), or undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('/metrics', () => {
  it('answers only admin and analyst tokens or METRICS_TOKEN: 401 without a token, 403 for other roles', async () => {
    const anonymous = await scrape({});
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error.message).toMatch(/needs a token: send Authorization: Bearer/);
    expect((await scrape({ authorization: 'Bearer not-the-secret' })).status).toBe(401);
    for (const role of ['customer', 'service'] as const) expect((await scrape(await as(role, role === 'customer' ? customerId : undefined))).status).toBe(403);
    for (const role of ['admin', 'analyst'] as const) expect((await scrape(await as(role))).status).toBe(200);
    const ok = await scrape();
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it("serves prom-client's process metrics and the pool, and marks unreachable engines down without failing the scrape", async () => {
    const started = performance.now();
    const text = await metricsText();
    expect(performance.now() - started).toBeLessThan(2000);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'rtrec_build_info'])
      expect(text).toContain(name);
    expect(text).toMatch(/^rtrec_pg_pool_connections\{state="idle"\} \d+$/m);
    expect(value(text, 'rtrec_pg_pool_max_connections')).toBeGreaterThan(0);
    expect(value(text, 'rtrec_engine_up{engine="flink"}')).toBe(0);
    expect(value(text, 'rtrec_engine_up{engine="connect"}')).toBe(0);
  });

  it('counts HTTP requests by route and GraphQL operations by name, with their latency', async () => {
    const result = await gql(test.app, 'query MetricsProbe { categories(first: 1) { totalCount } }');
    expect(result.errors).toBeUndefined();
    await gql(test.app, 'query MetricsProbe { customer(customerId: 999999) { customerId } }');
    await test.app.fetch('http://localhost/products?limit=1');
    const text = await metricsText();
    expect(value(text, 'rtrec_graphql_operations_total{type="query",operation="MetricsProbe",outcome="ok"}')).toBe(1);
    expect(value(text, 'rtrec_graphql_operations_total{type="query",operation="MetricsProbe",outcome="error"}')).toBe(1);
    expect(value(text, 'rtrec_graphql_operation_duration_seconds_count{type="query",operation="MetricsProbe"}')).toBe(2);
    expect(value(text, 'rtrec_http_requests_total{method="POST",route="/graphql",status="200"}')).toBeGreaterThanOrEqual(2);
    expect(value(text, 'rtrec_http_requests_total{method="GET",route="/products",status="200"}')).toBe(1);
    expect(value(text, 'rtrec_http_request_duration_seconds_count{method="GET",route="/products"}')).toBe(1);
  });

  it('reports recommendation latency, cache hits and misses, and their ratio', async () => {
    const query = `{ recommendations(customerId: ${customerId}, first: 3) { productId } }`;
    // Once the LISTEN connection is up (it drops every cached list when it connects).
    expect(await test.services.recommendations.listening()).toBe(true);
    expect((await gql(test.app, query)).errors).toBeUndefined();
    expect((await gql(test.app, query)).errors).toBeUndefined();
    const text = await metricsText();
    expect(value(text, 'rtrec_recommendation_cache_lookups_total{result="miss"}')).toBe(1);
    expect(value(text, 'rtrec_recommendation_cache_lookups_total{result="hit"}')).toBe(1);
    expect(value(text, 'rtrec_recommendation_cache_hit_ratio')).toBe(0.5);
    expect(value(text, 'rtrec_recommendation_duration_seconds_count')).toBe(1);
  });

  it('counts open WebSocket and SSE connections and subscriptions by field while they last', async () => {
    const client = subscriptionClient(server.url);
    const first = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: `subscription { recommendationsUpdated(customerId: ${customerId}) { computedAt } }` },
        { next: () => resolve(), error: reject, complete: () => undefined },
      );
    });
    await first;
    const sse = new AbortController();
    const stream = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(await as('admin')) },
      body: JSON.stringify({ query: 'subscription { categoryChanged { operation } }' }),
      signal: sse.signal,
    });
    expect(stream.status).toBe(200);
    await until('both subscriptions counted', async () => {
      const text = await metricsText();
      return (
        value(text, 'rtrec_websocket_connections') === 1 &&
        value(text, 'rtrec_subscriptions{field="recommendationsUpdated",transport="ws"}') === 1 &&
        value(text, 'rtrec_sse_connections') === 1 &&
        value(text, 'rtrec_subscriptions{field="categoryChanged",transport="sse"}') === 1
      );
    });
    expect(value(await metricsText(), 'rtrec_graphql_operations_total{type="subscription",operation="anonymous",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    await client.dispose();
    sse.abort();
    await until('both gone', async () => {
      const text = await metricsText();
      return (
        value(text, 'rtrec_websocket_connections') === 0 &&
        value(text, 'rtrec_subscriptions{field="recommendationsUpdated",transport="ws"}') === 0 &&
        value(text, 'rtrec_sse_connections') === 0
      );
    });
  });
});
