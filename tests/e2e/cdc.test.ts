import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLISHED_TABLES } from '../../src/database/privileges.js';
import { generateData } from '../../src/datagen/generate.js';
import { type CdcBridge, deadLetterTopic } from '../../src/kafka/bridge.js';
import { listen, type RunningServer } from '../../src/server/http.js';
import { createTestApp, gql, subscriptionClient } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, roleUrl, type TestDatabase } from '../helpers/db.js';
import { ensureDebianTool, pidListeningOn } from '../helpers/debian.js';
import { type EnginePorts, engineEnv } from '../helpers/net.js';

/*
 * Change data capture on the real engines the project starts: `rtrec stack up` (Kafka KRaft + Kafka
 * Connect with Debezium), `rtrec cdc register`, and the API's bridge into GraphQL subscriptions.
 */

let ports: EnginePorts;
let engines: Record<string, string>;
const prefix = 'cdctest';
let dataDir: string;
let env: Record<string, string>;
let t: TestDatabase;
let server: RunningServer;
let bridge: CdcBridge;
let client: Client;
let app: ReturnType<typeof createTestApp>['app'];
let brokers: string[];
let kafka: Kafka;

beforeAll(async () => {
  ({ ports, env: engines } = await engineEnv());
  brokers = [`127.0.0.1:${ports.kafka}`];
  kafka = new Kafka({ clientId: 'cdc-test', brokers, logLevel: logLevel.NOTHING });
  dataDir = mkdtempSync(join(tmpdir(), 'rtrec-cdc-'));
  chmodSync(dataDir, 0o755);
  t = await createTestDatabase('cdc');
  await generateData(t.pool, { categories: 3, products: 20, customers: 20, seed: 5 });
  env = {
    DATABASE_URL: t.url,
    // Debezium and the CLI's writes connect as their least-privilege roles, as the embedded server sets them up.
    DATABASE_CDC_URL: roleUrl('cdc', t.name),
    DATABASE_API_URL: roleUrl('api', t.name),
    RTREC_DATA_DIR: dataDir,
    CDC_TOPIC_PREFIX: prefix,
    ...engines,
    KAFKA_HEAP: '384m',
    CONNECT_HEAP: '384m',
  };
  const up = await runCli(['stack', 'up', 'kafka', 'connect'], env, 600_000);
  expect(up.code, up.stderr).toBe(0);
  const registered = await runCli(['cdc', 'register'], env, 120_000);
  expect(registered.code, registered.stderr).toBe(0);
  const test = createTestApp(t, env);
  app = test.app;
  bridge = test.services.bridge;
  bridge.start();
  server = await listen(test.app, '127.0.0.1', 0);
  client = subscriptionClient(server.url);
  for (let i = 0; i < 100 && !bridge.readiness().connected; i++) await new Promise((r) => setTimeout(r, 200));
  expect(bridge.readiness().connected).toBe(true);
}, 900_000);

afterAll(async () => {
  await client?.dispose();
  await bridge?.stop();
  await server?.close();
  if (env) {
    const down = await runCli(['stack', 'down'], env, 120_000);
    expect(down.code, down.stderr).toBe(0);
    for (const port of Object.values(ports)) expect(pidListeningOn(port), `port ${port} still open`).toBeUndefined();
  }
  await t?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 300_000);

/** Subscribes and collects results until `done(results)` says so. */
function subscribe(query: string, done: (results: any[]) => boolean, timeoutMs = 30_000) {
  const results: any[] = [];
  let subscribed!: () => void;
  const ready = new Promise<void>((r) => (subscribed = r));
  const finished = new Promise<any[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      dispose();
      reject(new Error(`timed out with ${results.length} results: ${JSON.stringify(results).slice(0, 500)}`));
    }, timeoutMs);
    const dispose = client.subscribe(
      { query },
      {
        next: (value) => {
          results.push(value);
          if (done(results)) {
            clearTimeout(timer);
            dispose();
            resolve(results);
          }
        },
        error: (error) => {
          clearTimeout(timer);
          reject(error);
        },
        complete: () => {
          clearTimeout(timer);
          resolve(results);
        },
      },
    );
    setTimeout(subscribed, 500);
  });
  return { ready, finished };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('change data capture', () => {
  it('delivers SQL inserts, updates and deletes to a graphql-ws subscriber with before and after', async () => {
    // The connector's initial snapshot may still be streaming (SNAPSHOT events): look only at this customer.
    const email = 'ada.cdc@example.com';
    const isAda = (x: any) => (x.data?.customerChanged.after ?? x.data?.customerChanged.before)?.email === email;
    const sub = subscribe(
      'subscription { customerChanged { operation before { customerId firstName email } after { customerId firstName email } committedAt lsn latencyMs } }',
      (r) => r.some((x) => isAda(x) && x.data.customerChanged.operation === 'DELETE'),
    );
    await sub.ready;
    const { rows } = await t.pool.query<{ customer_id: number }>(
      `INSERT INTO customers (first_name, last_name, email, password_hash) VALUES ('Ada', 'Lovelace', 'ada.cdc@example.com', 'scrypt$x') RETURNING customer_id`,
    );
    const id = rows[0]!.customer_id;
    await t.pool.query(`UPDATE customers SET first_name = 'Augusta' WHERE customer_id = $1`, [id]);
    await t.pool.query('DELETE FROM customers WHERE customer_id = $1', [id]);
    const events = (await sub.finished).filter(isAda).map((r) => r.data.customerChanged);
    expect(events.map((e) => e.operation)).toEqual(['CREATE', 'UPDATE', 'DELETE']);
    expect(events[0]).toMatchObject({ before: null, after: { customerId: id, firstName: 'Ada', email: 'ada.cdc@example.com' } });
    expect(events[1]).toMatchObject({ before: { firstName: 'Ada' }, after: { firstName: 'Augusta' } });
    expect(events[2]).toMatchObject({ before: { customerId: id, firstName: 'Augusta' }, after: null });
    for (const e of events) {
      expect(e.lsn).toMatch(/^\d+$/);
      expect(e.latencyMs).toBeGreaterThanOrEqual(0);
      expect(e.latencyMs).toBeLessThan(10_000);
    }
  });

  it('delivers GraphQL storefront mutations to filtered cart and behaviour-event subscriptions', async () => {
    const [mine, other] = await t.db.customer.findMany({ take: 2, orderBy: { customerId: 'asc' } });
    const product = await t.db.product.findFirstOrThrow({ where: { isActive: true, stock: { gt: 5 } } });
    const carts = subscribe(
      `subscription { cartChanged(customerId: ${mine!.customerId}) { operation after { customerId quantity product { name } } } }`,
      (r) => r.length >= 1,
    );
    const events = subscribe(
      `subscription { behaviorEvent(customerId: ${mine!.customerId}, eventType: add_to_cart) { after { customerId eventType productId } } }`,
      (r) => r.length >= 1,
    );
    await Promise.all([carts.ready, events.ready]);
    await gql(app, `mutation { addToCart(customerId: ${other!.customerId}, productId: ${product.productId}, quantity: 1) { cartId } }`);
    await gql(app, `mutation { viewProduct(customerId: ${mine!.customerId}, productId: ${product.productId}) { eventId } }`);
    await gql(app, `mutation { addToCart(customerId: ${mine!.customerId}, productId: ${product.productId}, quantity: 2) { cartId } }`);
    const [cart] = (await carts.finished).map((r) => r.data.cartChanged);
    expect(cart).toMatchObject({ operation: 'CREATE', after: { customerId: mine!.customerId, quantity: 2, product: { name: product.name } } });
    const [event] = (await events.finished).map((r) => r.data.behaviorEvent);
    expect(event.after).toEqual({ customerId: mine!.customerId, eventType: 'add_to_cart', productId: product.productId });
  });

  it('passes the seed smoke test from the CLI: three change events with latency, no password hash', async () => {
    const smoke = await runCli(['cdc', 'smoke'], env, 120_000);
    expect(smoke.code, smoke.stderr).toBe(0);
    expect(smoke.stdout).toMatch(/CREATE[\s\S]*UPDATE[\s\S]*DELETE/);
    expect(smoke.stdout).toMatch(/password_hash in messages: false/);
  });

  it('lets an independent Kafka client (kcat) read the same topic, money as readable strings', async () => {
    const tool = ensureDebianTool('/usr/bin/kcat', 'kcat');
    expect(tool.ok, tool.ok ? '' : tool.reason).toBe(true);
    await t.pool.query(`UPDATE products SET price = 12.34 WHERE product_id = (SELECT min(product_id) FROM products)`);
    await waitFor(
      async () => {
        const out = execFileSync('kcat', ['-b', brokers[0]!, '-t', `${prefix}.public.products`, '-C', '-o', 'beginning', '-e', '-q'], {
          encoding: 'utf8',
          timeout: 30_000,
        });
        return out.includes('"price":"12.34"');
      },
      30_000,
      'kcat to read the price change',
    );
    const out = execFileSync('kcat', ['-b', brokers[0]!, '-t', `${prefix}.public.customers`, '-C', '-o', 'beginning', '-e', '-q'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(out).toContain('"before"');
    expect(out).not.toContain('password_hash');
  });

  it('lists and tails topics from the CLI', async () => {
    const list = await runCli(['topic', 'list', '--json'], env);
    const topics = JSON.parse(list.stdout) as { topic: string; messages: number }[];
    expect(topics.find((x) => x.topic === `${prefix}.public.customers`)!.messages).toBeGreaterThan(20);
    const tail = await runCli(['topic', 'tail', '--topic', `${prefix}.public.categories`, '--from-beginning', '--limit', '2'], env);
    expect(tail.code).toBe(0);
    expect(tail.stdout.trim().split('\n')).toHaveLength(2);
    expect(tail.stdout).toMatch(/READ\s+categories category_id=\d+/);
    const missing = await runCli(['topic', 'tail', '--topic', 'no.such.topic', '--limit', '1'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('streams as the Debezium role, which may only read: REPLICATION and SELECT on the published tables', async () => {
    const config = await (await fetch(`http://127.0.0.1:${ports.connect}/connectors/shop-cdc/config`)).json();
    expect(config['database.user']).toBe('rtrec_cdc');
    expect(config['publication.autocreate.mode']).toBe('disabled');
    const { rows: slot } = await t.pool.query<{ usename: string }>(
      'SELECT a.usename FROM pg_replication_slots s JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = $1',
      ['rtrec_cdc'],
    );
    expect(slot).toEqual([{ usename: 'rtrec_cdc' }]);
    // The owner created the publication up front, for exactly the captured tables.
    const { rows: published } = await t.pool.query<{ tablename: string }>("SELECT tablename FROM pg_publication_tables WHERE pubname = 'rtrec_cdc' ORDER BY 1");
    expect(published.map((r) => r.tablename)).toEqual([...PUBLISHED_TABLES].sort());
    const { rows: owner } = await t.pool.query("SELECT pg_get_userbyid(pubowner) AS owner FROM pg_publication WHERE pubname = 'rtrec_cdc'");
    expect(owner).toEqual([{ owner: 'postgres' }]);
    const cdc = new pg.Client({ connectionString: roleUrl('cdc', t.name) });
    await cdc.connect();
    try {
      await expect(cdc.query("INSERT INTO categories (name) VALUES ('from debezium')")).rejects.toThrow(/permission denied for table categories/);
      await expect(cdc.query('SELECT * FROM sim_customer_tastes')).rejects.toThrow(/permission denied/);
    } finally {
      await cdc.end();
    }
  });

  it("keeps the database password out of Connect's REST API and config topic, and password_hash out of every topic", async () => {
    const password = new URL(roleUrl('cdc', t.name)).password;
    expect(password.length).toBeGreaterThan(0);
    const config = await (await fetch(`http://127.0.0.1:${ports.connect}/connectors/shop-cdc/config`)).text();
    expect(JSON.parse(config)['database.password']).toMatch(/^\$\{file:.*database\.properties:password\}$/);
    expect(config).not.toContain(password);
    expect(config).not.toContain(new URL(t.url).password);
    const secrets = statSync(join(dataDir, 'stack', 'connect', 'secrets', 'database.properties'));
    expect(secrets.mode & 0o777).toBe(0o600);
    // A customer written now must reach the topic without its hash.
    await t.pool.query(
      `INSERT INTO customers (first_name, last_name, email, password_hash) VALUES ('Hash', 'Less', 'hashless@example.com', 'scrypt$topsecret')`,
    );
    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: `no-secrets-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: ['rtrec-connect-configs', `${prefix}.public.customers`], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ topic, message }) => void seen.push(`${topic} ${message.value?.toString() ?? ''}`) });
    await waitFor(async () => seen.some((s) => s.includes('hashless@example.com')), 30_000, 'the new customer on its topic');
    await consumer.disconnect();
    expect(seen.some((s) => s.startsWith('rtrec-connect-configs'))).toBe(true);
    expect(seen.filter((s) => s.includes(password) || s.includes(new URL(t.url).password))).toEqual([]);
    // The connector config names the column only to exclude it; no change carries it or a hash.
    expect(seen.filter((s) => s.startsWith(`${prefix}.public.customers`) && /password_hash/.test(s))).toEqual([]);
    expect(seen.filter((s) => /scrypt\$/.test(s))).toEqual([]);
  }, 60_000);

  it('sends poison messages to the dead-letter topic and keeps streaming', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const before = bridge.readiness().poisoned;
    await producer.send({
      topic: `${prefix}.public.customers`,
      messages: [{ value: 'this is not json' }, { value: JSON.stringify({ op: 'c', after: null }) }],
    });
    // A key that does not convert (a non-numeric event id) used to throw outside the dead-letter path.
    await producer.send({
      topic: `${prefix}.public.behavior_events`,
      messages: [{ key: JSON.stringify({ event_id: 'not-a-number' }), value: JSON.stringify({ op: 'c', after: { event_id: 1 }, source: { ts_ms: 1 } }) }],
    });
    await producer.disconnect();
    const sub = subscribe('subscription { categoryChanged { operation after { name } } }', (r) => r.length >= 1);
    await sub.ready;
    await waitFor(async () => bridge.readiness().poisoned >= before + 3, 20_000, 'poison messages to be counted');
    await t.pool.query(`UPDATE categories SET description = 'after poison' WHERE category_id = (SELECT min(category_id) FROM categories)`);
    expect((await sub.finished)[0].data.categoryChanged.operation).toBe('UPDATE');
    const consumer = kafka.consumer({ groupId: `dlq-${Date.now()}` });
    const dead: { value: string; headers: Record<string, string> }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [deadLetterTopic(prefix)], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        dead.push({
          value: message.value?.toString() ?? '',
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
      },
    });
    await waitFor(async () => dead.length >= 3, 20_000, 'dead letters');
    await consumer.disconnect();
    expect(dead[0]).toMatchObject({
      value: 'this is not json',
      headers: { 'rtrec.source.topic': `${prefix}.public.customers`, 'rtrec.error': 'value is not JSON', 'rtrec.consumer': 'api' },
    });
    expect(dead[0]!.headers['rtrec.source.offset']).toMatch(/^\d+$/);
    expect(dead[1]!.headers['rtrec.error']).toMatch(/CREATE without the after row/);
    const badKey = dead.find((d) => d.headers['rtrec.source.topic'] === `${prefix}.public.behavior_events`)!;
    expect(badKey.headers['rtrec.error']).toMatch(/^key does not convert to a behavior_events row/);
    expect(badKey.headers['rtrec.source.offset']).toMatch(/^\d+$/);
  });

  it('keeps serving queries while Kafka is down, and subscriptions resume when it returns', async () => {
    const pid = pidListeningOn(ports.kafka)!;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => pidListeningOn(ports.kafka) === undefined, 20_000, 'Kafka to die');
    const query = await gql(app, '{ customers(first: 1) { totalCount } }');
    expect(query.data).toBeTruthy();
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const up = await runCli(['stack', 'up', 'kafka', 'connect'], env, 300_000);
    expect(up.code, up.stderr).toBe(0);
    await waitFor(async () => bridge.readiness().connected, 60_000, 'the bridge to reconnect');
    const sub = subscribe('subscription { productChanged { operation after { productId stock } } }', (r) => r.length >= 1, 90_000);
    await sub.ready;
    // Connect may still be re-establishing its producer after the broker restart: keep changing until one arrives.
    const writer = setInterval(
      () => void t.pool.query('UPDATE products SET stock = stock + 1 WHERE product_id = (SELECT min(product_id) FROM products)'),
      1000,
    );
    try {
      expect((await sub.finished)[0].data.productChanged.operation).toBe('UPDATE');
    } finally {
      clearInterval(writer);
    }
  }, 240_000);

  it('loses no change when Kafka Connect is killed (-9) mid-stream and restarted', async () => {
    const marker = `kill9-${Date.now()}`;
    await t.pool.query(`INSERT INTO categories (name, description) VALUES ($1, 'marker')`, [marker]);
    const total = 300;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < total; i++) {
        await t.pool.query(`UPDATE categories SET description = $2 WHERE name = $1`, [marker, `v${i}`]);
        written++;
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await waitFor(async () => written > total / 3, 30_000, 'writes to start');
    const connectPid = pidListeningOn(ports.connect)!;
    process.kill(connectPid, 'SIGKILL');
    await writer;
    const up = await runCli(['stack', 'up', 'kafka', 'connect'], env, 300_000);
    expect(up.code, up.stderr).toBe(0);
    const consumer = kafka.consumer({ groupId: `kill9-${Date.now()}` });
    const versions = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topics: [`${prefix}.public.categories`], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value ? JSON.parse(message.value.toString()) : null;
        if (value?.after?.name === marker && /^v\d+$/.test(value.after.description)) versions.add(value.after.description);
      },
    });
    try {
      await waitFor(async () => versions.size >= total, 120_000, `all ${total} changes (have ${versions.size})`);
    } finally {
      await consumer.disconnect();
    }
    expect(versions.size).toBe(total);
    const status = await runCli(['cdc', 'status', '--json'], env);
    expect(JSON.parse(status.stdout).connector.state).toBe('RUNNING');
  }, 400_000);

  it('resumes a subscription from its cursor after a reconnect and after an API restart: every change exactly once', async () => {
    const marker = `resume-${Date.now()}`;
    const {
      rows: [row],
    } = await t.pool.query<{ category_id: number }>(`INSERT INTO categories (name, description) VALUES ($1, 'start') RETURNING category_id`, [marker]);
    const id = row!.category_id;
    const query = `subscription ($after: String) { categoryChanged(categoryId: ${id}, after: $after) { cursor operation after { description } } }`;
    const total = 240;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < total; i++) {
        await t.pool.query('UPDATE categories SET description = $2 WHERE category_id = $1', [id, `v${i}`]);
        written++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const received: string[] = [];
    /** Subscribes on `c` (after `after`), collecting versions until `enough`; resolves with the last cursor. */
    const follow = (c: Client, after: string | null, enough: () => boolean, timeoutMs = 60_000) =>
      new Promise<string>((resolve, reject) => {
        let last = after;
        // A client that stops takes nothing more: what was still in flight is what the resume must bring back.
        let stopped = false;
        const timer = setTimeout(() => {
          dispose();
          reject(new Error(`timed out with ${received.length} versions, the last ${received.at(-1)}`));
        }, timeoutMs);
        const dispose = c.subscribe(
          { query, variables: { after } },
          {
            next: (value: any) => {
              if (stopped) return;
              if (value.errors) return reject(new Error(JSON.stringify(value.errors)));
              const change = value.data.categoryChanged;
              expect(change.cursor).toMatch(/^c1\./);
              last = change.cursor;
              if (/^v\d+$/.test(change.after?.description ?? '')) received.push(change.after.description);
              if (enough()) {
                stopped = true;
                clearTimeout(timer);
                dispose();
                resolve(last!);
              }
            },
            error: reject,
            complete: () => undefined,
          },
        );
      });
    // 1. Live, then the client goes away while the writes go on.
    const first = await follow(client, null, () => received.length >= 40);
    await waitFor(async () => written >= received.length + 60, 30_000, 'changes the subscriber misses');
    // 2. The same server: resume with the cursor.
    const second = await follow(client, first, () => received.length >= 120);
    // 3. An API restart: a new server process's app, whose Kafka consumer starts at the end of the topics after the
    //    missed changes, takes the resuming client.
    const next = createTestApp(t, env);
    const nextServer = await listen(next.app, '127.0.0.1', 0);
    const nextClient = subscriptionClient(nextServer.url);
    try {
      await waitFor(async () => written >= received.length + 60, 30_000, 'changes the subscriber misses');
      next.services.bridge.start();
      await waitFor(async () => next.services.bridge.readiness().connected, 60_000, 'the new server to read Kafka');
      await follow(nextClient, second, () => received.at(-1) === `v${total - 1}`, 90_000);
    } finally {
      await writer;
      await nextClient.dispose();
      await next.services.bridge.stop();
      await nextServer.close();
    }
    // From the first version received to the last: each once, in commit order.
    const start = Number(received[0]!.slice(1));
    expect(received).toEqual(Array.from({ length: total - start }, (_, i) => `v${start + i}`));
  }, 300_000);

  it('answers a cursor whose changes the topic no longer holds with CURSOR_EXPIRED, and a foreign one with BAD_USER_INPUT', async () => {
    const sub = subscribe(`subscription { shipmentChanged { cursor } }`, (r) => r.length >= 1);
    await sub.ready;
    const { rows } = await t.pool.query<{ customer_id: number }>('SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1');
    await t.pool.query(
      `INSERT INTO shipments (address, city, state, country, zip_code, status, tracking_number, customer_id) VALUES ('1 Way', 'Town', 'ST', 'US', '00001', 'pending', $1, $2)`,
      [`TRK-${Date.now()}`, rows[0]!.customer_id],
    );
    const cursor = (await sub.finished)[0].data.shipmentChanged.cursor as string;
    // Retention passing, or a reset, removes the records the cursor needs.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topic = `${prefix}.public.shipments`;
      await admin.fetchTopicMetadata({ topics: [topic] });
      const [end] = await admin.fetchTopicOffsets(topic);
      await t.pool.query(`UPDATE shipments SET status = 'shipped' WHERE tracking_number LIKE 'TRK-%'`);
      await waitFor(async () => BigInt((await admin.fetchTopicOffsets(topic))[0]!.high) > BigInt(end!.high), 30_000, 'the update on the topic');
      const [now] = await admin.fetchTopicOffsets(topic);
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: now!.high }] });
    } finally {
      await admin.disconnect();
    }
    const [expired] = await subscribe(`subscription { shipmentChanged(after: "${cursor}") { cursor } }`, () => true).finished;
    expect(expired.errors[0]).toMatchObject({
      message: expect.stringMatching(/retention has passed.*subscribe without after/s),
      extensions: { code: 'CURSOR_EXPIRED', field: 'after' },
    });
    const [foreign] = await subscribe(`subscription { orderChanged(after: "${cursor}") { cursor } }`, () => true).finished;
    expect(foreign.errors[0]).toMatchObject({ message: expect.stringMatching(/shipments/), extensions: { code: 'BAD_USER_INPUT' } });
  }, 120_000);

  it('manages the connector with the seed-compatible curl script', async () => {
    const script = join(process.cwd(), 'scripts', 'cdc-connect.sh');
    const run = (...args: string[]) =>
      execFileSync('bash', [script, ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env, CONNECT_URL: `http://127.0.0.1:${ports.connect}`, LOG_LEVEL: 'warn' },
        timeout: 60_000,
      });
    expect(run('delete_connector', 'shop-cdc')).toMatch(/HTTP\/1.1 204/);
    const registered = run('register_connector', 'connectors/postgresql-cdc.json');
    expect(registered).toMatch(/HTTP\/1.1 201 Created/);
    expect(registered).toMatch(/"database.password":"\*\*\*"/);
    expect(registered).not.toContain(new URL(t.url).password);
    expect(registered).not.toContain(new URL(roleUrl('cdc', t.name)).password);
    await waitFor(
      async () => JSON.parse((await runCli(['cdc', 'status', '--json'], env)).stdout).connector?.state === 'RUNNING',
      60_000,
      'the connector to run again',
    );
    expect(() => run('register_connector', 'no/such/file.json')).toThrow(/not found/);
  }, 120_000);
});
