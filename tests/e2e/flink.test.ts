import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient } from 'graphql-ws';
import { Kafka, logLevel } from 'kafkajs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { jobManagerFor } from '../../src/app/context.js';
import { isAlive } from '../../src/common/process.js';
import { loadConfig } from '../../src/config/env.js';
import { inTransaction } from '../../src/database/transaction.js';
import { generateData } from '../../src/datagen/generate.js';
import { liveCounts, recountResults } from '../../src/experiments/results.js';
import type { CdcBridge } from '../../src/kafka/bridge.js';
import { buildFeaturesAsOf } from '../../src/recommend/features-sql.js';
import { listen, type RunningServer } from '../../src/server/http.js';
import { startSimulation } from '../../src/simulator/runs.js';
import { as, createTestApp, gql, subscriptionClient } from '../helpers/app.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, roleUrl, type TestDatabase } from '../helpers/db.js';
import { pidListeningOn } from '../helpers/debian.js';
import { type EnginePorts, engineEnv } from '../helpers/net.js';

/*
 * The Flink jobs on the real engines the project starts (PostgreSQL → Debezium → Kafka → Flink →
 * PostgreSQL/Kafka → GraphQL): each job's closed windows equal the same computation in SQL over the
 * commit timestamps PostgreSQL recorded (track_commit_timestamp), also across a kill -9 of the
 * TaskManager mid-stream; alerts reach a graphql-ws subscriber; a bad SQL file is named with its problem.
 */

let ports: EnginePorts;
let engines: Record<string, string>;
const prefix = 'flinktest';
const REVENUE_WINDOW = 5;
let dataDir: string;
let env: Record<string, string>;
let t: TestDatabase;
let server: RunningServer;
let bridge: CdcBridge;
let client: Client;
let app: ReturnType<typeof createTestApp>['app'];

beforeAll(async () => {
  ({ ports, env: engines } = await engineEnv());
  dataDir = mkdtempSync(join(tmpdir(), 'rtrec-flink-'));
  chmodSync(dataDir, 0o755);
  t = await createTestDatabase('flink');
  await generateData(t.pool, { categories: 3, products: 30, customers: 20, seed: 7 });
  env = {
    DATABASE_URL: t.url,
    // Each component as its least-privilege role: the jobs' JDBC sinks as Flink's, Debezium as its own, the demo as the API's.
    DATABASE_FLINK_URL: roleUrl('flink', t.name),
    DATABASE_CDC_URL: roleUrl('cdc', t.name),
    DATABASE_API_URL: roleUrl('api', t.name),
    RTREC_DATA_DIR: dataDir,
    CDC_TOPIC_PREFIX: prefix,
    CDC_SLOT_NAME: 'rtrec_flinktest',
    ...engines,
    KAFKA_HEAP: '384m',
    CONNECT_HEAP: '384m',
    REVENUE_WINDOW_SECONDS: String(REVENUE_WINDOW),
    FLINK_WATERMARK_DELAY_MS: '200',
    FRAUD_HIGH_VALUE: '900',
    FRAUD_VELOCITY_MAX_ORDERS: '5',
  };
  const up = await runCli(['stack', 'up'], env, 900_000);
  expect(up.code, up.stderr).toBe(0);
  const registered = await runCli(['cdc', 'register'], env, 120_000);
  expect(registered.code, registered.stderr).toBe(0);
  const deployed = await runCli(['jobs', 'deploy', '--all'], env, 300_000);
  expect(deployed.code, deployed.stderr).toBe(0);
  expect(deployed.stdout).toMatch(/fraud-detection: deployed/);
  expect(deployed.stdout).toMatch(/revenue-stats: deployed/);
  expect(deployed.stdout).toMatch(/top-products: deployed/);
  expect(deployed.stdout).toMatch(/recommendation-features: deployed/);
  expect(deployed.stdout).toMatch(/experiment-results: deployed/);

  const test = createTestApp(t, env);
  app = test.app;
  bridge = test.services.bridge;
  bridge.start();
  server = await listen(test.app, '127.0.0.1', 0);
  client = subscriptionClient(server.url);
  for (let i = 0; i < 100 && !bridge.readiness().connected; i++) await new Promise((r) => setTimeout(r, 200));
  expect(bridge.readiness().connected).toBe(true);
}, 1_200_000);

afterAll(async () => {
  await client?.dispose();
  await bridge?.stop();
  await server?.close();
  if (env) {
    const down = await runCli(['stack', 'down'], env, 180_000);
    expect(down.code, down.stderr).toBe(0);
    for (const port of [ports.kafka, ports.connect, ports.flink, ports.gateway, ports.rpc])
      expect(pidListeningOn(port), `port ${port} still open`).toBeUndefined();
  }
  await t?.drop();
  // RTREC_KEEP_TEST_DATA=1 keeps the engines' logs and data for a post-mortem.
  if (dataDir && !process.env.RTREC_KEEP_TEST_DATA) rmSync(dataDir, { recursive: true, force: true });
}, 300_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One order with its lines in one transaction, as the storefront writes them. */
async function placeOrder(pool: pg.Pool, customerId: number, lines: { productId: number; quantity: number; price: number }[]): Promise<number> {
  return inTransaction(pool, async (db) => {
    const total = lines.reduce((sum, l) => sum + l.price * l.quantity, 0);
    const { rows } = await db.query<{ order_id: number }>(
      "INSERT INTO orders (total_price, status, customer_id) VALUES ($1, 'pending', $2) RETURNING order_id",
      [total.toFixed(2), customerId],
    );
    for (const l of lines)
      await db.query('INSERT INTO order_items (quantity, price, order_id, product_id) VALUES ($1, $2, $3, $4)', [
        l.quantity,
        l.price.toFixed(2),
        rows[0]!.order_id,
        l.productId,
      ]);
    return rows[0]!.order_id;
  });
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

async function taskManagerPid(): Promise<number> {
  const status = await runCli(['stack', 'status', '--json'], env);
  const tm = (JSON.parse(status.stdout) as { engines: { engine: string; pid?: number }[] }).engines.find((e) => e.engine === 'flink-taskmanager');
  return tm!.pid!;
}

describe('Flink jobs on the real stack', () => {
  it('jobs deploy is idempotent and jobs list shows the running jobs', async () => {
    const again = await runCli(['jobs', 'deploy', '--all'], env, 120_000);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.match(/already running/g)).toHaveLength(5);
    const list = await runCli(['jobs', 'list', '--json'], env);
    const jobs = (JSON.parse(list.stdout) as { jobs: { name: string; state: string }[] }).jobs;
    expect(jobs.map((j) => [j.name, j.state])).toEqual([
      ['experiment-results', 'RUNNING'],
      ['fraud-detection', 'RUNNING'],
      ['recommendation-features', 'RUNNING'],
      ['revenue-stats', 'RUNNING'],
      ['top-products', 'RUNNING'],
    ]);
  });

  it("the jobs' JDBC sinks connect as the Flink role, which may write only the jobs' tables", async () => {
    const rendered = await runCli(['jobs', 'render', 'recommendation-features'], env);
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.stdout).toContain("'username' = 'rtrec_flink'");
    expect(rendered.stdout).not.toContain(`'username' = 'postgres'`);
    const { rows } = await t.pool.query<{ usename: string }>('SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND usename LIKE $2', [
      t.name,
      'rtrec_%',
    ]);
    expect(rows.map((r) => r.usename)).toContain('rtrec_flink');
  });

  it('closed windows equal the same computation in SQL over the commit timestamps, across a kill -9 of the TaskManager', async () => {
    const { rows: products } = await t.pool.query<{ product_id: number; price: string }>('SELECT product_id, price FROM products ORDER BY product_id');
    // A fraud alert to receive live: subscribe before the history starts.
    const alerts: any[] = [];
    const unsubscribe = client.subscribe(
      { query: 'subscription { fraudAlert(rule: "high_value") { rule orderId amount detail } }' },
      { next: (v) => alerts.push(v.data?.fraudAlert), error: () => undefined, complete: () => undefined },
    );
    const rankings: any[] = [];
    const unsubscribeTop = client.subscribe(
      { query: 'subscription { topProductsUpdated(window: ONE_MINUTE, by: QUANTITY) { windowStart categoryId by products { rank productId quantity } } }' },
      { next: (v) => rankings.push(v.data?.topProductsUpdated), error: () => undefined, complete: () => undefined },
    );
    await sleep(500);

    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const started = Date.now();
    // Run past the next minute boundary so that at least one 1-minute window closes, and at least 25 s.
    const nextMinute = Math.ceil((Date.now() + 1000) / 60_000) * 60_000;
    let until = Math.max(started + 25_000, nextMinute + 3_000);
    let killed = false;
    let restarted = false;
    let velocityOrders: number[] = [];
    let highValueOrder = 0;
    let placed = 0;
    while (Date.now() < until) {
      const elapsed = Date.now() - started;
      if (placed === 3) {
        // Six orders by one customer in a few seconds: the 6th trips the velocity rule (more than 5 per minute).
        for (let i = 0; i < 6; i++)
          velocityOrders.push(await placeOrder(t.pool, 20, [{ productId: products[0]!.product_id, quantity: 1, price: Number(products[0]!.price) }]));
        velocityOrders = velocityOrders.slice(5);
        highValueOrder = await placeOrder(t.pool, 19, [{ productId: products[1]!.product_id, quantity: 100, price: 10 }]);
      }
      const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
        const p = products[Math.floor(random() * products.length)]!;
        return { productId: p.product_id, quantity: 1 + Math.floor(random() * 3), price: Number(p.price) };
      });
      await placeOrder(t.pool, 1 + Math.floor(random() * 18), lines);
      placed++;
      if (!killed && elapsed > 8_000) {
        process.kill(await taskManagerPid(), 'SIGKILL');
        killed = true;
      }
      if (killed && !restarted && elapsed > 12_000) {
        const up = await runCli(['stack', 'up'], env, 180_000);
        expect(up.code, up.stderr).toBe(0);
        expect(up.stdout).toMatch(/flink-taskmanager: started/);
        restarted = true;
        // A slow restart (a loaded machine) must not leave too few windows after it: keep ordering for 15 s more.
        until = Math.max(until, Date.now() + 15_000);
      }
      await sleep(150);
    }
    expect(restarted).toBe(true);
    const lastCommit = (await t.pool.query<{ at: Date }>('SELECT max(pg_xact_commit_timestamp(xmin)) AS at FROM orders')).rows[0]!.at.getTime();
    // One more order after a pause moves the watermark past every window that ended before it.
    await sleep(1500);
    await placeOrder(t.pool, 1, [{ productId: products[2]!.product_id, quantity: 1, price: Number(products[2]!.price) }]);

    // Revenue windows: every window that ended before the last commit of the history.
    const { rows: truth } = await t.pool.query<{ window_start: Date; revenue: string; order_count: number }>(
      `SELECT window_start, sum(total_price)::text AS revenue, count(*)::int AS order_count
       FROM (SELECT total_price, to_timestamp(floor(extract(epoch FROM date_trunc('milliseconds', pg_xact_commit_timestamp(xmin))) / $1) * $1) AS window_start FROM orders) o
       WHERE window_start + make_interval(secs => $1) <= $2::timestamptz
       GROUP BY window_start ORDER BY window_start`,
      [REVENUE_WINDOW, new Date(lastCommit)],
    );
    expect(truth.length).toBeGreaterThanOrEqual(4);
    const flink = await poll('every closed revenue window', async () => {
      const { rows } = await t.pool.query<{ window_start: Date; revenue: string; order_count: number }>(
        'SELECT window_start, revenue::text, order_count FROM revenue_stats WHERE window_seconds = $1 AND window_start <= $2 ORDER BY window_start',
        [REVENUE_WINDOW, truth.at(-1)!.window_start],
      );
      return rows.length >= truth.length ? rows : undefined;
    });
    expect(flink.map((r) => [r.window_start.toISOString(), r.revenue, r.order_count])).toEqual(
      truth.map((r) => [r.window_start.toISOString(), r.revenue, r.order_count]),
    );

    // Top products: the closed 1-minute windows, ranked by quantity and by revenue over all categories.
    const topTruth = await t.pool.query<{ window_start: Date; ranked_by: string; rank: number; product_id: number; quantity: number; revenue: string }>(
      `WITH sales AS (
         SELECT date_trunc('minute', pg_xact_commit_timestamp(xmin)) AS window_start, product_id, sum(quantity)::int AS quantity, sum(price * quantity) AS revenue
         FROM order_items GROUP BY 1, 2),
       ranked AS (
         SELECT window_start, 'quantity' AS ranked_by, row_number() OVER (PARTITION BY window_start ORDER BY quantity DESC, product_id)::int AS rank, product_id, quantity, revenue FROM sales
         UNION ALL
         SELECT window_start, 'revenue', row_number() OVER (PARTITION BY window_start ORDER BY revenue DESC, product_id)::int, product_id, quantity, revenue FROM sales)
       SELECT window_start, ranked_by, rank, product_id, quantity, revenue::text FROM ranked
       WHERE rank <= 10 AND window_start + interval '1 minute' <= $1 ORDER BY 1, 2, 3`,
      [new Date(lastCommit)],
    );
    expect(topTruth.rows.length).toBeGreaterThan(0);
    const lastWindow = topTruth.rows.at(-1)!.window_start;
    const top = await poll('the closed 1-minute top-products windows', async () => {
      const { rows } = await t.pool.query<{ window_start: Date; ranked_by: string; rank: number; product_id: number; quantity: number; revenue: string }>(
        "SELECT window_start, ranked_by, rank, product_id, quantity, revenue::text FROM top_products WHERE window_size = '1m' AND category_id = 0 AND window_start <= $1 ORDER BY 1, 2, 3",
        [lastWindow],
      );
      return rows.length >= topTruth.rows.length ? rows : undefined;
    });
    const key = (r: { window_start: Date; ranked_by: string; rank: number; product_id: number; quantity: number; revenue: string }) =>
      `${r.window_start.toISOString()} ${r.ranked_by} #${r.rank} p${r.product_id} q${r.quantity} ${Number(r.revenue).toFixed(2)}`;
    expect(top.map(key)).toEqual(topTruth.rows.map(key));

    // Per category, by quantity.
    const categoryTruth = await t.pool.query<{ window_start: Date; category_id: number; rank: number; product_id: number; quantity: number }>(
      `WITH sales AS (
         SELECT date_trunc('minute', pg_xact_commit_timestamp(i.xmin)) AS window_start, p.category_id, i.product_id, sum(i.quantity)::int AS quantity
         FROM order_items i JOIN products p USING (product_id) GROUP BY 1, 2, 3)
       SELECT window_start, category_id, rank, product_id, quantity FROM (
         SELECT *, row_number() OVER (PARTITION BY window_start, category_id ORDER BY quantity DESC, product_id)::int AS rank FROM sales) r
       WHERE rank <= 10 AND window_start <= $1 ORDER BY 1, 2, 3`,
      [lastWindow],
    );
    const { rows: perCategory } = await t.pool.query<{ window_start: Date; category_id: number; rank: number; product_id: number; quantity: number }>(
      "SELECT window_start, category_id, rank, product_id, quantity FROM top_products WHERE window_size = '1m' AND category_id <> 0 AND ranked_by = 'quantity' AND window_start <= $1 ORDER BY 1, 2, 3",
      [lastWindow],
    );
    const categoryKey = (r: { window_start: Date; category_id: number; rank: number; product_id: number; quantity: number }) =>
      `${r.window_start.toISOString()} c${r.category_id} #${r.rank} p${r.product_id} q${r.quantity}`;
    expect(perCategory.map(categoryKey)).toEqual(categoryTruth.rows.map(categoryKey));

    // The closed window's overall ranking was pushed whole to the subscriber.
    const pushed = await poll(
      'the topProductsUpdated push',
      async () => rankings.find((r) => r && new Date(r.windowStart).getTime() === lastWindow.getTime() && r.categoryId === null),
      30_000,
    );
    expect(pushed.products.map((p: any) => `#${p.rank} p${p.productId} q${p.quantity}`)).toEqual(
      topTruth.rows
        .filter((r) => r.window_start.getTime() === lastWindow.getTime() && r.ranked_by === 'quantity')
        .map((r) => `#${r.rank} p${r.product_id} q${r.quantity}`),
    );
    unsubscribeTop();

    // Fraud: the velocity rule fired for the 6th rapid order, the high-value rule for the large one, in the table and live.
    const { rows: fired } = await poll('the fraud alerts', async () => {
      const result = await t.pool.query<{ alert_id: string }>('SELECT alert_id FROM fraud_alerts ORDER BY alert_id');
      const ids = result.rows.map((r) => r.alert_id);
      return ids.includes(`velocity:${velocityOrders[0]}`) && ids.includes(`high_value:${highValueOrder}`) ? result : undefined;
    });
    expect(fired.map((r) => r.alert_id)).not.toContain(`velocity:${velocityOrders[0]! - 1}`); // the 5th order was within the limit
    await poll('the high_value alert on the subscription', async () => (alerts.some((a) => a?.orderId === highValueOrder) ? true : undefined), 30_000);
    expect(alerts.find((a) => a?.orderId === highValueOrder)).toMatchObject({ rule: 'high_value', amount: '1000.00' });
    unsubscribe();

    // And through the GraphQL queries.
    const response = await gql<any, any>(
      app,
      `{ revenueStats(window: ${REVENUE_WINDOW}, first: 3) { edges { node { windowStart revenue orderCount } } }
      topProducts(window: ONE_MINUTE, by: REVENUE, first: 3) { edges { node { rank productId revenue product { name } } } }
      fraudAlerts(rule: "velocity", customerId: 20, first: 5) { edges { node { orderId customerId order { customerId } } } } }`,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.revenueStats.edges.length).toBe(3);
    expect(response.data.topProducts.edges[0].node.rank).toBe(1);
    expect(response.data.topProducts.edges[0].node.product.name).toEqual(expect.any(String));
    expect(response.data.fraudAlerts.edges.map((e: any) => [e.node.orderId, e.node.order.customerId])).toEqual([[velocityOrders[0], 20]]);
  }, 600_000);

  it('jobs cancel keeps the checkpoint and a redeploy resumes from it', async () => {
    await sleep(6000); // at least one checkpoint (every 5 s) after the last test's data
    const cancelled = await runCli(['jobs', 'cancel', 'revenue-stats'], env, 120_000);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toMatch(/revenue-stats: cancelled/);
    const redeployed = await runCli(['jobs', 'deploy', 'revenue-stats'], env, 120_000);
    expect(redeployed.code, redeployed.stderr).toBe(0);
    expect(redeployed.stdout).toMatch(/revenue-stats: deployed .*resumed from .*chk-\d+/);
  }, 300_000);

  it('a bad SQL file is refused with its name and Flink’s reason; bad names and placeholders are named too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtrec-badjobs-'));
    try {
      writeFileSync(join(dir, 'broken.sql'), "CREATE TABLE src (id INT) WITH ('connector' = 'datagen');\nINSERT INTO nowhere SELECT id FROM src;\n");
      writeFileSync(join(dir, 'unknown.sql'), "INSERT INTO x SELECT * FROM y WHERE a = '${no.such}';\n");
      const jobs = jobManagerFor(loadConfig(env), t.url, t.logger, dir);
      await expect(jobs.deploy('broken')).rejects.toThrow(/broken\.sql: statement 2 \(INSERT INTO nowhere.*rejected by Flink: .*nowhere/s);
      await expect(jobs.deploy('unknown')).rejects.toThrow(/unknown\.sql: unknown placeholder \$\{no\.such\} \(line 1\)/);
      const missing = await runCli(['jobs', 'deploy', 'no-such-job'], env);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/No job 'no-such-job'.*fraud-detection, recommendation-features, revenue-stats, top-products/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('maintains the recommender features: co-view, co-purchase, support and interactions equal their SQL definitions, and recommendations follow a new action', async () => {
    const { rows: products } = await t.pool.query<{ product_id: number; category_id: number; name: string }>(
      'SELECT product_id, category_id, name FROM products ORDER BY product_id LIMIT 4',
    );
    const [p1, p2, p3, p4] = products.map((p) => p.product_id) as [number, number, number, number];
    const view = (customer: number, session: string, product: number) =>
      t.pool.query(
        "INSERT INTO behavior_events (customer_id, session_id, event_type, product_id, category_id) SELECT $1, $2::uuid, 'view_product', product_id, category_id FROM products WHERE product_id = $3",
        [customer, session, product],
      );
    const s1 = '00000000-0000-4000-8000-000000000001';
    const s2 = '00000000-0000-4000-8000-000000000002';
    await view(3, s1, p1);
    await view(3, s1, p2);
    await view(3, s1, p3);
    await view(4, s2, p1);
    await view(4, s2, p2);
    await t.pool.query(
      "INSERT INTO behavior_events (customer_id, session_id, event_type, product_id, category_id) SELECT 4, $1::uuid, 'add_to_cart', product_id, category_id FROM products WHERE product_id = $2",
      [s2, p2],
    );

    // Co-view: distinct sessions per ordered pair; support: distinct sessions per product.
    const coView = await poll(
      'the co-view pairs',
      async () => {
        const { rows } = await t.pool.query<{ a: number; b: number; n: string }>(
          "SELECT product_a AS a, product_b AS b, together::text AS n FROM rec_cooccurrence WHERE kind = 'view' ORDER BY 1, 2",
        );
        return rows.length >= 6 ? rows : undefined;
      },
      60_000,
    );
    expect(coView.map((r) => `${r.a}-${r.b}:${r.n}`)).toEqual([
      `${p1}-${p2}:2`,
      `${p1}-${p3}:1`,
      `${p2}-${p1}:2`,
      `${p2}-${p3}:1`,
      `${p3}-${p1}:1`,
      `${p3}-${p2}:1`,
    ]);
    // Support is another sink of the job: it may land after the pairs (the fresh-clone run at 0e9fda2 read it early).
    const viewSupport = await poll(
      'the view support',
      async () => {
        const { rows } = await t.pool.query<{ product_id: number; support: string }>(
          "SELECT product_id, support::text FROM rec_item_support WHERE kind = 'view' ORDER BY 1",
        );
        return rows.length >= 3 && rows.reduce((n, r) => n + Number(r.support), 0) >= 5 ? rows : undefined;
      },
      60_000,
    );
    expect(viewSupport.map((r) => `${r.product_id}:${r.support}`)).toEqual([`${p1}:2`, `${p2}:2`, `${p3}:1`]);

    // Co-purchase and purchases per customer and product over every order of this file's history.
    const purchaseTruth = await t.pool.query<{ a: number; b: number; n: string }>(
      'SELECT x.product_id AS a, y.product_id AS b, count(DISTINCT x.order_id)::text AS n FROM order_items x JOIN order_items y ON x.order_id = y.order_id AND x.product_id <> y.product_id GROUP BY 1, 2 ORDER BY 1, 2',
    );
    const coPurchase = await poll(
      'the co-purchase pairs',
      async () => {
        const { rows } = await t.pool.query<{ a: number; b: number; n: string }>(
          "SELECT product_a AS a, product_b AS b, together::text AS n FROM rec_cooccurrence WHERE kind = 'purchase' ORDER BY 1, 2",
        );
        return JSON.stringify(rows) === JSON.stringify(purchaseTruth.rows) ? rows : undefined;
      },
      60_000,
    ).catch(
      async () =>
        (await t.pool.query("SELECT product_a AS a, product_b AS b, together::text AS n FROM rec_cooccurrence WHERE kind = 'purchase' ORDER BY 1, 2")).rows,
    );
    expect(coPurchase).toEqual(purchaseTruth.rows);

    // Popularity, all-time and recency-weighted (forward decay: Σ weight · 2^((t − epoch) / half-life)), equals
    // its SQL definition (features-sql.ts) on this history.
    await buildFeaturesAsOf(t.pool, 'flink_truth', new Date(Date.now() + 60_000));
    const { rows: statsTruth } = await t.pool.query<{ product_id: number; score: number; recent_score: number }>(
      'SELECT product_id, score, recent_score FROM flink_truth.rec_product_stats ORDER BY 1',
    );
    await t.pool.query('DROP SCHEMA flink_truth CASCADE');
    expect(statsTruth.length).toBeGreaterThan(0);
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
    const statsNow = () =>
      t.pool.query<{ product_id: number; score: number; recent_score: number }>('SELECT product_id, score, recent_score FROM rec_product_stats ORDER BY 1');
    const stats = await poll(
      'the popularity of every product',
      async () => {
        const { rows } = await statsNow();
        const same =
          rows.length === statsTruth.length &&
          rows.every(
            (r, i) => r.product_id === statsTruth[i]!.product_id && close(r.score, statsTruth[i]!.score) && close(r.recent_score, statsTruth[i]!.recent_score),
          );
        return same ? rows : undefined;
      },
      60_000,
    ).catch(async () => (await statsNow()).rows);
    // Float sums in another order (and Java's pow against PostgreSQL's) differ in the last bits only.
    expect(stats.map((r) => [r.product_id, r.score])).toEqual(statsTruth.map((r) => [r.product_id, r.score]));
    for (const [i, r] of stats.entries()) expect(close(r.recent_score, statsTruth[i]!.recent_score), `recent_score of ${r.product_id}`).toBe(true);
    expect(stats.every((r) => r.recent_score > 0)).toBe(true);
    const interactions = await t.pool.query<{ views: string; carts: string; purchases: string }>(
      'SELECT views::text, carts::text, purchases::text FROM rec_customer_product WHERE customer_id = 4 AND product_id = $1',
      [p2],
    );
    expect(interactions.rows[0]).toMatchObject({ views: '1', carts: '1' });

    // Customer 4 viewed p1 and p2 in a session like customer 3's, who also viewed p3: p3 is recommended for that reason.
    const before = await gql<any, any>(
      app,
      `{ recommendations(customerId: 4, first: 20) { productId reason } similarProducts(productId: ${p1}, first: 20) { productId reason } }`,
    );
    expect(before.errors).toBeUndefined();
    expect(before.data.similarProducts.find((r: any) => r.productId === p3)?.reason).toBe(`viewed together with ${products[0]!.name}`);
    expect(before.data.recommendations.length).toBeGreaterThan(0);
    // A new action by a new customer: cold start first (only trending), then one view of p5, which customer 3 viewed
    // together with p6 in another session. p6 gains a co-view contribution (cosine 1/√2 × ln 2 ≈ 0.49) and an
    // affinity one; the trending terms (0.3 at most in all) can only shrink a little as their maxima grow, so its
    // score must rise by well over 0.1. (With 30 products
    // the order of a list alone may not move, so the score is what is checked.)
    const { rows: pair } = await t.pool.query<{ product_id: number }>(
      `SELECT p.product_id FROM products p
       WHERE p.category_id = (SELECT category_id FROM products WHERE product_id NOT IN ($1, $2, $3, $4) AND is_active AND stock > 0
                              GROUP BY category_id HAVING count(*) >= 2 ORDER BY count(*) DESC, category_id LIMIT 1)
         AND p.product_id NOT IN ($1, $2, $3, $4) AND p.is_active AND p.stock > 0
       ORDER BY p.product_id LIMIT 2`,
      [p1, p2, p3, p4],
    );
    expect(pair).toHaveLength(2);
    const [p5, p6] = pair.map((p) => p.product_id) as [number, number];
    const s3 = '00000000-0000-4000-8000-000000000003';
    await view(3, s3, p5);
    await view(3, s3, p6);
    await poll(
      'the co-view of the new pair',
      async () => {
        const { rows } = await t.pool.query("SELECT 1 FROM rec_cooccurrence WHERE kind = 'view' AND product_a = $1 AND product_b = $2", [p5, p6]);
        return rows.length ? true : undefined;
      },
      60_000,
    );
    const {
      rows: [fresh],
    } = await t.pool.query<{ customer_id: number }>(
      "INSERT INTO customers (first_name, last_name, email, password_hash) VALUES ('Cold', 'Start', 'cold.start@example.com', 'x') RETURNING customer_id",
    );
    const newcomer = fresh!.customer_id;
    const listOf = async () => {
      const now = await gql<any, any>(app, `{ recommendations(customerId: ${newcomer}, first: 100) { productId score reason } }`);
      expect(now.errors).toBeUndefined();
      return now.data.recommendations as { productId: number; score: number; reason: string }[];
    };
    const coldStart = await listOf();
    expect(coldStart.length).toBeGreaterThan(0);
    for (const r of coldStart) expect(r.reason).toMatch(/^popular in /);
    const scoreBefore = coldStart.find((r) => r.productId === p6)?.score ?? 0;
    // The newcomer's subscription: the current list at once, a new one once Flink has written the features.
    const pushes: { at: number; reasons: string[] }[] = [];
    // Reasons only a customer with history gets (cold start: "popular in X [this hour]").
    const personal = (reason: string) => !reason.startsWith('popular in ') || reason.endsWith('a category you like');
    const unsubscribe = client.subscribe(
      { query: `subscription { recommendationsUpdated(customerId: ${newcomer}, first: 100) { recommendations { productId reason } } }` },
      {
        next: (v: any) => pushes.push({ at: Date.now(), reasons: v.data.recommendationsUpdated.recommendations.map((r: any) => r.reason) }),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await poll("the subscription's first list", async () => (pushes.length ? true : undefined), 10_000);
    const committed = Date.now();
    await view(newcomer, '00000000-0000-4000-8000-000000000004', p5);
    const scoreAfter = await poll(
      'recommendations to follow the new view',
      async () => {
        const score = (await listOf()).find((r) => r.productId === p6)?.score ?? 0;
        return score > scoreBefore + 0.1 ? score : undefined;
      },
      30_000,
    );
    console.log(`recommendations changed ${Date.now() - committed} ms after the view's commit (score of ${p6}: ${scoreBefore} → ${scoreAfter})`);
    const pushed = await poll('recommendationsUpdated to push the new list', async () => pushes.find((p) => p.reasons.some(personal)), 30_000);
    unsubscribe();
    expect(pushes[0]!.reasons.some(personal)).toBe(false);
    console.log(`recommendationsUpdated pushed ${pushed.at - committed} ms after the view's commit`);
    const similar = await gql<any, any>(app, `{ similarProducts(productId: ${p5}, first: 20) { productId reason } }`);
    expect(similar.data.similarProducts.find((r: any) => r.productId === p6)?.reason).toMatch(/^viewed together with /);
  }, 180_000);

  it('leaves every result unchanged when Debezium delivers a change twice, and dead-letters a change that does not parse with its position', async () => {
    const { rows: products } = await t.pool.query<{ product_id: number; price: string }>(
      'SELECT product_id, price::text FROM products ORDER BY product_id DESC LIMIT 1',
    );
    const product = products[0]!;
    // A customer of its own: the velocity rule counts a customer's orders of the last minute, and earlier tests order a lot.
    const {
      rows: [fresh],
    } = await t.pool.query<{ customer_id: number }>(
      "INSERT INTO customers (first_name, last_name, email, password_hash) VALUES ('Twice', 'Sent', 'twice.sent@example.com', 'x') RETURNING customer_id",
    );
    const customer = fresh!.customer_id;
    const purchasesOf = async () =>
      Number(
        (await t.pool.query('SELECT purchases FROM rec_customer_product WHERE customer_id = $1 AND product_id = $2', [customer, product.product_id])).rows[0]
          ?.purchases ?? 0,
      );
    const before = await purchasesOf();
    // One order, and once the features count it, its change messages as Debezium wrote them.
    // 20 units: the product heads its minute's ranking, whatever else sold in that minute.
    const order = await placeOrder(t.pool, customer, [{ productId: product.product_id, quantity: 20, price: Number(product.price) }]);
    await poll('the order in the features', async () => ((await purchasesOf()) === before + 1 ? true : undefined));
    const kafka = new Kafka({ clientId: 'flink-dup-test', brokers: [`127.0.0.1:${ports.kafka}`], logLevel: logLevel.NOTHING });
    const read = async (table: string, match: (after: any) => boolean) => {
      const consumer = kafka.consumer({ groupId: `dup-test-${table}-${Date.now()}` });
      const found: { key: Buffer | null; value: Buffer | null }[] = [];
      await consumer.connect();
      await consumer.subscribe({ topics: [`${prefix}.public.${table}`], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const value = message.value ? JSON.parse(message.value.toString()) : null;
          if (value?.op === 'c' && match(value.after)) found.push({ key: message.key, value: message.value });
        },
      });
      try {
        await poll(`the ${table} change of order ${order}`, async () => (found.length ? true : undefined), 30_000);
      } finally {
        await consumer.disconnect();
      }
      return found;
    };
    const orderChanges = await read('orders', (a) => a.order_id === order);
    const itemChanges = await read('order_items', (a) => a.order_id === order);
    const producer = kafka.producer();
    await producer.connect();
    const offsets: Record<string, string[]> = {};
    /** Produces to a change topic; `poison` records the offsets the dead-letter topic must name. */
    const send = async (table: string, messages: { key: Buffer | string | null; value: Buffer | string | null }[], poison = false) => {
      const [result] = await producer.send({ topic: `${prefix}.public.${table}`, messages });
      const first = BigInt(result!.baseOffset!);
      if (poison) (offsets[table] ??= []).push(...messages.map((_, i) => String(first + BigInt(i))));
    };
    try {
      // Re-delivered twice (as after a Connect crash), then one that is not JSON, one whose row does not convert, and
      // a JSON object whose row is not an object (the json format cannot read it: the raw reader or the checks must).
      await send('orders', [...orderChanges, ...orderChanges]);
      await send('order_items', [...itemChanges, ...itemChanges]);
      const committed = JSON.parse(orderChanges[0]!.value!.toString()).source.ts_ms;
      await send(
        'orders',
        [
          { key: null, value: 'not json {' },
          { key: null, value: JSON.stringify({ op: 'c', after: { order_id: 'seven', customer_id: 1, total_price: '1.00' }, source: { ts_ms: committed } }) },
          { key: null, value: JSON.stringify({ op: 'c', after: 'not a row', source: { ts_ms: committed } }) },
        ],
        true,
      );
      await send('order_items', [{ key: null, value: JSON.stringify({ op: 'c', after: { order_item_id: 1 }, source: { ts_ms: committed } }) }], true);
    } finally {
      await producer.disconnect();
    }
    // Later orders move the watermark past the order's windows (revenue, the 1-minute ranking).
    await sleep((REVENUE_WINDOW + 1) * 1000);
    await placeOrder(t.pool, 1, [{ productId: product.product_id, quantity: 1, price: Number(product.price) }]);

    // The dead-letter topic: each job that reads a poisoned topic reports each poison message with its position.
    const dead: { consumer: string; topic: string; offset: string; error: string }[] = [];
    const dlq = kafka.consumer({ groupId: `dup-test-dlq-${Date.now()}` });
    await dlq.connect();
    await dlq.subscribe({ topics: [`${prefix}.dlq`], fromBeginning: true });
    await dlq.run({
      eachMessage: async ({ message }) => {
        const h = (name: string) => message.headers?.[name]?.toString() ?? '';
        if (h('rtrec.consumer').startsWith('flink:'))
          dead.push({ consumer: h('rtrec.consumer'), topic: h('rtrec.source.topic'), offset: h('rtrec.source.offset'), error: h('rtrec.error') });
      },
    });
    try {
      const expected = [
        ...['fraud-detection', 'recommendation-features', 'revenue-stats'].flatMap((job) => offsets.orders!.map((o) => `flink:${job} orders ${o}`)),
        ...['experiment-results', 'fraud-detection', 'recommendation-features', 'top-products'].flatMap((job) =>
          offsets.order_items!.map((o) => `flink:${job} order_items ${o}`),
        ),
      ].sort();
      await poll('the poison messages in the dead-letter topic', async () => (dead.length >= expected.length ? true : undefined), 60_000);
      expect(dead.map((d) => `${d.consumer} ${d.topic.split('.').at(-1)} ${d.offset}`).sort()).toEqual(expected);
      expect(dead.find((d) => d.topic.endsWith('.orders') && d.offset === offsets.orders![0])!.error).toBe('not a JSON object');
      expect(dead.find((d) => d.topic.endsWith('.orders') && d.offset === offsets.orders![1])!.error).toMatch(/does not convert/);
    } finally {
      await dlq.disconnect();
    }
    // Every job has read past the duplicates (they came before the poison). Each result counts the order once.
    expect(await purchasesOf()).toBe(before + 1);
    const { rows: commit } = await t.pool.query<{ at: Date }>('SELECT pg_xact_commit_timestamp(xmin) AS at FROM orders WHERE order_id = $1', [order]);
    const at = commit[0]!.at.getTime();
    const windowStart = new Date(Math.floor(at / 1000 / REVENUE_WINDOW) * REVENUE_WINDOW * 1000);
    const { rows: truth } = await t.pool.query<{ revenue: string; order_count: number }>(
      `SELECT sum(total_price)::text AS revenue, count(*)::int AS order_count FROM orders
       WHERE pg_xact_commit_timestamp(xmin) >= $1 AND pg_xact_commit_timestamp(xmin) < $1::timestamptz + make_interval(secs => $2)`,
      [windowStart, REVENUE_WINDOW],
    );
    const revenue = await poll('the closed revenue window of the order', async () => {
      const { rows } = await t.pool.query<{ revenue: string; order_count: number }>(
        'SELECT revenue::text, order_count FROM revenue_stats WHERE window_seconds = $1 AND window_start = $2',
        [REVENUE_WINDOW, windowStart],
      );
      return rows[0];
    });
    expect(revenue).toEqual(truth[0]);
    const minute = new Date(Math.floor(at / 60_000) * 60_000);
    // An order after the minute closes its ranking.
    await sleep(Math.max(0, minute.getTime() + 61_000 - Date.now()));
    await placeOrder(t.pool, 2, [{ productId: product.product_id, quantity: 1, price: Number(product.price) }]);
    // The minute's ranking by quantity (the order's product may rank anywhere in it, or below the top 10).
    const { rows: rankingTruth } = await t.pool.query<{ rank: number; product_id: number; quantity: number }>(
      `SELECT row_number() OVER (ORDER BY sum(quantity) DESC, product_id)::int AS rank, product_id, sum(quantity)::int AS quantity
       FROM order_items WHERE date_trunc('minute', pg_xact_commit_timestamp(xmin)) = $1 GROUP BY product_id ORDER BY 1 LIMIT 10`,
      [minute],
    );
    const ranking = await poll(
      'the closed 1-minute ranking of the order',
      async () => {
        const { rows } = await t.pool.query<{ rank: number; product_id: number; quantity: number }>(
          `SELECT rank, product_id, quantity FROM top_products WHERE window_size = '1m' AND window_start = $1 AND category_id = 0 AND ranked_by = 'quantity' ORDER BY rank`,
          [minute],
        );
        return rows.length >= rankingTruth.length ? rows : undefined;
      },
      120_000,
    );
    expect(ranking).toEqual(rankingTruth);
    expect(ranking.find((r) => r.product_id === product.product_id)).toBeDefined();
    // Three identical orders within the burst window would be a burst: the re-deliveries are not orders. (A large
    // order may be high_value, which it is once.)
    const { rows: alerts } = await t.pool.query<{ rule: string }>('SELECT rule FROM fraud_alerts WHERE order_id = $1', [order]);
    expect(alerts.filter((a) => a.rule !== 'high_value')).toEqual([]);
  }, 300_000);

  it('keeps an experiment’s per-variant results live: equal to a SQL recount of the events, fresh within 5 s, pushed to experimentUpdated', async () => {
    const exp = createTestApp(t, env);
    const x = exp.services.experiments;
    const e = await x.create({
      name: 'e2e ours vs random',
      variants: [
        { name: 'control', recommender: 'random', weight: 1 },
        { name: 'ours', recommender: 'ours', weight: 1 },
      ],
    });
    await x.start(e.experimentId);
    const pushes: number[] = [];
    const unsubscribe = client.subscribe<any>(
      { query: `subscription { experimentUpdated(id: ${e.experimentId}) { variants { impressions } } }` },
      {
        next: (v) => pushes.push(v.data.experimentUpdated.variants.reduce((a: number, b: { impressions: number }) => a + b.impressions, 0)),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    try {
      const run = await startSimulation(
        { db: t.db, pool: t.pool, storefront: t.storefront, logger: t.logger, recommender: exp.services.recommender, experiments: x },
        { sessions: 40, durationMinutes: 1, speed: 600, concurrency: 4, seed: 9, sessionsPerDay: 1, recommendations: 6, recommender: 'experiment' },
      );
      const summary = await run.done;
      expect(summary.recommendations!.impressions).toBeGreaterThan(0);
      const same = async () => {
        const [live, recount] = await Promise.all([liveCounts(t.pool, e.experimentId), recountResults(t.pool, e.experimentId)]);
        return JSON.stringify(live) === JSON.stringify(recount) && recount.reduce((a, c) => a + c.impressions, 0) === summary.recommendations!.impressions
          ? { live, recount }
          : undefined;
      };
      const { live, recount } = await poll('experiment_results equal to the SQL recount', same, 120_000);
      expect(live).toEqual(recount);
      expect(recount.reduce((a, c) => a + c.clicks, 0)).toBe(summary.recommendations!.clicks);
      // The simulated shoppers bought some of what they clicked: purchases and revenue are counted too.
      expect(recount.reduce((a, c) => a + c.carts + c.purchases, 0)).toBeGreaterThan(0);

      // Freshness: one more list shown and clicked through the storefront, timed until experiment_results counts it.
      const customerId = (await t.pool.query<{ customer_id: number }>('SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1')).rows[0]!.customer_id;
      const served = await x.serve(customerId, { first: 3 });
      const listId = randomUUID();
      const items = served.items.map((r, i) => ({ productId: r.productId, position: i + 1, reason: r.reason, source: r.source }));
      const before = live.find((c) => c.variantId === served.arm!.variantId)!;
      const shownAt = Date.now();
      await t.storefront.showRecommendations(customerId, { listId, recommender: served.arm!.recommender, items, ...served.arm });
      await t.storefront.clickRecommendation(customerId, { listId, recommender: served.arm!.recommender, ...served.arm }, items[0]!);
      await poll(
        'the new impressions and click in experiment_results',
        async () => {
          const now = (await liveCounts(t.pool, e.experimentId)).find((c) => c.variantId === served.arm!.variantId)!;
          return now.impressions === before.impressions + items.length && now.clicks === before.clicks + 1 ? now : undefined;
        },
        30_000,
      );
      const freshMs = Date.now() - shownAt;
      expect(freshMs, `results were ${freshMs} ms behind`).toBeLessThan(5000);
      // experimentUpdated pushed the live counts as they grew (a NOTIFY per write of the Flink job).
      await poll(
        'an experimentUpdated push with the final count',
        async () => (pushes.includes(summary.recommendations!.impressions + items.length) ? true : undefined),
        10_000,
      );
      expect(pushes[0]).toBe(0);
    } finally {
      unsubscribe();
      await x.stop(e.experimentId).catch(() => undefined);
      await exp.services.close();
    }
  }, 300_000);

  it('clearData resets the derived state with the data: topics cut at the TRUNCATE, jobs restarted fresh, features rebuilt from the new history only', async () => {
    const count = async (table: string) => Number((await t.pool.query(`SELECT count(*) n FROM ${table}`)).rows[0].n);
    for (const table of ['rec_product_stats', 'rec_customer_product', 'revenue_stats']) expect(await count(table), table).toBeGreaterThan(0);
    // The product bought most so far: stale state would keep counting its earlier purchases.
    const {
      rows: [top],
    } = await t.pool.query<{ product_id: number; price: string }>(
      `SELECT i.product_id, p.price::text FROM order_items i JOIN products p USING (product_id) GROUP BY 1, 2 ORDER BY sum(i.quantity) DESC LIMIT 1`,
    );
    const jobsBefore = await jobManagerFor(loadConfig(env), t.url, t.logger).list();
    const truncates: string[] = [];
    const stop = client.subscribe(
      { query: 'subscription { orderChanged(customerId: 1) { operation before { orderId } after { orderId } } }' },
      { next: (v: any) => truncates.push(v.data.orderChanged.operation), error: () => undefined, complete: () => undefined },
    );
    await sleep(1000);
    const cleared = await gql<any, any>(app, 'mutation { clearData(scope: ACTIVITY) { table rows } }', undefined, await as('admin'));
    expect(cleared.errors).toBeUndefined();
    const deleted = Object.fromEntries(cleared.data.clearData.map((c: any) => [c.table, c.rows]));
    expect(deleted.orders).toBeGreaterThan(0);
    expect(deleted.rec_product_stats).toBeGreaterThan(0);
    for (const table of [
      'orders',
      'behavior_events',
      'rec_product_stats',
      'rec_customer_product',
      'rec_cooccurrence',
      'revenue_stats',
      'top_products',
      'fraud_alerts',
    ])
      expect(await count(table), table).toBe(0);
    // The subscriber learns that the table was emptied; its customer filter lets a TRUNCATE through.
    await poll('the TRUNCATE change', async () => (truncates.includes('TRUNCATE') ? true : undefined), 30_000);
    stop();
    // Each job runs again, as a new run that did not resume the old state.
    const jobsAfter = await jobManagerFor(loadConfig(env), t.url, t.logger).list();
    for (const job of jobsBefore.filter((j) => j.state === 'RUNNING')) {
      const now = jobsAfter.find((j) => j.name === job.name)!;
      expect(['RUNNING', 'CREATED', 'INITIALIZING']).toContain(now.state);
      expect(now.jobId).not.toBe(job.jobId);
    }
    // The change topics now begin after the TRUNCATE: nothing before it can be read again.
    const kafka = new Kafka({ clientId: 'flink-test', brokers: [`127.0.0.1:${ports.kafka}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [orders] = await admin.fetchTopicOffsets(`${prefix}.public.orders`);
      expect(Number(orders!.low)).toBeGreaterThan(0);
      expect(Number(orders!.low)).toBe(Number(orders!.high));
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      expect(groups.filter((g) => g.startsWith('rtrec-reset-'))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
    // New activity: the features count it alone.
    await placeOrder(t.pool, 2, [{ productId: top!.product_id, quantity: 3, price: Number(top!.price) }]);
    const stats = await poll(
      'the new purchase in the features',
      async () => {
        const { rows } = await t.pool.query<{ purchases: string }>('SELECT purchases::text FROM rec_product_stats WHERE product_id = $1', [top!.product_id]);
        return rows[0];
      },
      90_000,
    );
    expect(stats.purchases).toBe('1');
    // A later order closes the first window: the first window after the reset has no previous one.
    await sleep((REVENUE_WINDOW + 1) * 1000);
    await placeOrder(t.pool, 3, [{ productId: top!.product_id, quantity: 1, price: Number(top!.price) }]);
    const windows = await poll(
      'a closed revenue window after the reset',
      async () => {
        const { rows } = await t.pool.query<{ order_count: number; previous_revenue: string | null }>(
          'SELECT order_count, previous_revenue::text FROM revenue_stats ORDER BY window_start',
        );
        return rows.length ? rows : undefined;
      },
      90_000,
    );
    expect(windows[0]).toEqual({ order_count: 1, previous_revenue: null });
  }, 300_000);

  it("runs the npm start demo on the whole stack: jobs deployed, simulation visible in CDC and in the jobs' output", async () => {
    const demo = await startCli(['demo', '--port', '0', '--speed', '600', '--sessions', '40', '--train-every', '0.1'], env, /ready — press Ctrl-C/, 300_000);
    try {
      expect(demo.output()).toMatch(/connector shop-cdc RUNNING/);
      for (const job of ['fraud-detection', 'recommendation-features', 'revenue-stats', 'top-products'])
        expect(demo.output()).toMatch(new RegExp(`Flink job ${job}: (already running|deployed)`));
      const url = /GraphQL \+ GraphiQL\s+http:\/\/([^/\s]+)\/graphql/.exec(demo.output())![1]!;
      const demoToken = /#token=([\w.-]+)/.exec(demo.output())![1]!;
      const demoClient = createClient({
        url: `ws://${url}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${demoToken}` },
      });
      const first = (query: string) =>
        new Promise<any>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`nothing from the demo simulation on ${query}`)), 90_000);
          const dispose = demoClient.subscribe(
            { query },
            {
              next: (value) => {
                clearTimeout(timer);
                dispose();
                resolve(value);
              },
              error: reject,
              complete: () => undefined,
            },
          );
        });
      try {
        const [event, revenue, customer] = await Promise.all([
          first('subscription { behaviorEvent { operation after { eventType customerId } latencyMs } }'),
          first(`subscription { revenueUpdated(window: ${REVENUE_WINDOW}) { windowStart windowEnd revenue orderCount } }`),
          // The demo's headline subscription: shoppers sign up and change their profiles and addresses.
          first('subscription { customerChanged { operation after { customerId address } } }'),
        ]);
        expect(event.data.behaviorEvent).toMatchObject({ operation: 'CREATE', after: { eventType: expect.any(String) } });
        expect(['CREATE', 'UPDATE']).toContain(customer.data.customerChanged.operation);
        // The demo's /metrics: the jobs and the connector from their REST APIs, the bridge's traffic and latency.
        const JOBS = ['fraud-detection', 'recommendation-features', 'revenue-stats', 'top-products'];
        const metrics = await poll('the demo metrics to show the pipeline', async () => {
          const text = await (await fetch(`http://${url}/metrics`, { headers: { authorization: `Bearer ${demoToken}` } })).text();
          const has = (pattern: RegExp) => pattern.test(text);
          return has(/^rtrec_kafka_messages_total\{topic="flinktest\.public\.behavior_events"\} [1-9]/m) &&
            has(/^rtrec_cdc_commit_to_delivery_seconds_count\{table="behavior_events"\} [1-9]/m) &&
            has(/^rtrec_flink_job_lag_records\{job="fraud-detection"\} \d/m) &&
            // Each job's restarts come from a per-job REST call with a short timeout: on a loaded machine a scrape
            // may miss some (by design it never fails), the next one has them.
            JOBS.every((job) => has(new RegExp(`^rtrec_flink_job_restarts\\{job="${job}"\\} \\d+$`, 'm')))
            ? text
            : undefined;
        });
        for (const job of JOBS) {
          expect(metrics).toContain(`rtrec_flink_job_state{job="${job}",state="RUNNING"} 1`);
          expect(metrics).toMatch(new RegExp(`^rtrec_flink_job_restarts\\{job="${job}"\\} \\d+$`, 'm'));
        }
        expect(metrics).toContain('rtrec_connect_connector_state{connector="shop-cdc",state="RUNNING"} 1');
        expect(metrics).toContain('rtrec_connect_task_state{connector="shop-cdc",task="0",state="RUNNING"} 1');
        expect(metrics).toContain('rtrec_engine_up{engine="flink"} 1');
        expect(metrics).toContain('rtrec_kafka_bridge_connected 1');
        expect(metrics).toMatch(/^rtrec_kafka_consumer_lag\{topic="flinktest\.public\.[a-z_]+",partition="0"\} \d+$/m);
        expect(revenue.data.revenueUpdated.orderCount).toBeGreaterThan(0);
        // The closed loop: a round ends with its uptake of the recommendations the shoppers were shown.
        const uptake = await poll(
          "the demo round's recommendation uptake",
          async () =>
            /Recommendations \(ours, 6 per session\): (\d+) impressions in (\d+) lists, (\d+) clicks, click-through ([\d.]+)%/.exec(demo.output()) ?? undefined,
          240_000,
        );
        expect(Number(uptake[1])).toBeGreaterThan(0);
        const {
          rows: [shown],
        } = await t.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM behavior_events WHERE event_type = 'recommendation_impression'");
        expect(shown!.n).toBeGreaterThanOrEqual(Number(uptake[1]));
        // Periodic training (rtrec train in a child process) on the features Flink wrote: the learned neighbours are stored.
        const trained = await poll(
          'the background training',
          async () => /Trained the recommender in \d+ s: (\d+) learned neighbours/.exec(demo.output()) ?? undefined,
          120_000,
        );
        const {
          rows: [neighbours],
        } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM rec_model_neighbours');
        expect(neighbours!.n).toBeGreaterThan(0);
        expect(Number(trained[1])).toBeGreaterThan(0);
      } finally {
        await demoClient.dispose();
      }
    } finally {
      expect(await demo.stop()).toBe(0);
    }
  }, 400_000);

  it('stack status shows the Flink processes healthy', async () => {
    const status = await runCli(['stack', 'status', '--json'], env);
    const engines = (JSON.parse(status.stdout) as { engines: { engine: string; healthy: boolean; pid?: number }[] }).engines;
    for (const name of ['flink-zookeeper', 'flink-jobmanager', 'flink-taskmanager', 'flink-sql-gateway']) {
      const engine = engines.find((e) => e.engine === name)!;
      expect(engine.healthy, name).toBe(true);
      expect(isAlive(engine.pid!)).toBe(true);
    }
  });
});
