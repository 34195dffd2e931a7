/**
 * Freshness of recommendations (not a timed test): a customer acts → their `recommendations` change, and
 * `recommendationsUpdated` pushes the new list. Everything co-located on this machine.
 *
 *   npm run bench:freshness [-- --trials 100 --warmup 5]
 *
 * It brings up the local stack (`rtrec stack up`), registers the connector, deploys the recommendation-features
 * job, waits until the job has read the topics' history, trains the model (`rtrec train`), and starts `rtrec serve`
 * in its own process. Each trial
 * makes a new customer (cold start: trending items), subscribes to recommendationsUpdated over graphql-ws, then
 * commits one product view for them (a product others viewed with other products) and measures from the moment
 * the commit returned:
 *   - API: the first `recommendations` answer that differs from the one before the view (polled every 20 ms);
 *   - push: the recommendationsUpdated message with the new list.
 * Baseline in the same run: commit → that view's change event on Kafka (Debezium alone), read by a Kafka consumer.
 */
import { createClient } from 'graphql-ws';
import { Kafka, logLevel } from 'kafkajs';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/env.js';
import { createPool, ensureDatabaseUrl } from '../src/database/database.js';
import { waitCaughtUp } from '../src/flink/catch-up.js';
import { FlinkRest } from '../src/flink/gateway.js';
import { flag, line, percentile, cli as rtrec, startServer } from './lib.js';

const trials = flag('trials', 100);
/** Trials run first and not counted: the connector, the job and the server warm up (the first change took seconds). */
const warmup = flag('warmup', 5);
const env = { ...process.env, LOG_LEVEL: 'error' };
const cli = (argv: string[]) => rtrec(argv, env);
const summary = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return `n=${s.length} p50 ${percentile(s, 50).toFixed(0)} / p95 ${percentile(s, 95).toFixed(0)} / p99 ${percentile(s, 99).toFixed(0)} / max ${percentile(s, 100).toFixed(0)} ms`;
};

const config = loadConfig(env);
console.log(`bench:freshness — ${trials} trials; stack up, connector, recommendation-features job…`);
await cli(['stack', 'up']);
const url = await ensureDatabaseUrl(config);
await cli(['db', 'init']);
const pool = createPool(url, 4);
const { rows: counts } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM behavior_events');
if (counts[0]!.n === 0) {
  await cli(['generate']);
  await cli(['simulate', '--historical', '3', '--sessions-per-day', '300']);
}
await cli(['cdc', 'register']);
console.log((await cli(['jobs', 'deploy', 'recommendation-features'])).trim());

const rest = new FlinkRest(config.flink.restUrl);
console.log(`the job caught up with the topics' history in ${await waitCaughtUp(rest, 3000, 'recommendation-features')} s`);
// Serve with the trained model, as a shop would (rtrec train: learned neighbours + fitted ranker weights).
await cli(['train', '--json'])
  .then((out) => {
    const report = JSON.parse(out.trim().split('\n').pop()!);
    console.log(
      `rtrec train: ${report.neighbours.rows} neighbour rows, weights ${JSON.stringify(report.ranker.ranker)}${report.saved ? '' : ' (not stored: too few cases)'}`,
    );
  })
  .catch((error) => console.log(`rtrec train did not run (${error.message}): serving uses the default weights`));

// Products others viewed together with other products: a view of one gives a cold customer similar items.
const { rows: seeds } = await pool.query<{ product_id: number; category_id: number }>(
  `SELECT s.product_id, p.category_id FROM rec_item_support s JOIN products p USING (product_id)
   WHERE s.kind = 'view' AND p.is_active AND p.stock > 0 ORDER BY s.support DESC LIMIT 50`,
);
if (seeds.length === 0) throw new Error('no co-viewed products yet: simulate some history first (rtrec simulate --historical 3)');

const kafka = new Kafka({ clientId: 'bench-freshness', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: `bench-freshness-${process.pid}`, maxWaitTimeInMs: 20 });
const onKafka = new Map<string, number>();
await consumer.connect();
await consumer.subscribe({ topics: [`${config.cdc.topicPrefix}.public.behavior_events`], fromBeginning: false });
await consumer.run({
  eachMessage: async ({ message }) => {
    if (!message.value) return;
    const value = JSON.parse(message.value.toString()) as { op: string; after?: { session_id: string } };
    if (value.op === 'c' && value.after) onKafka.set(value.after.session_id, Date.now());
  },
});
await new Promise((r) => setTimeout(r, 3000));

const server = await startServer(url, env);
const ws = createClient({
  url: `${server.base.replace('http', 'ws')}/graphql`,
  webSocketImpl: WebSocket,
  retryAttempts: 0,
  connectionParams: { authorization: `Bearer ${server.token}` },
});
const gql = async (query: string) => {
  const response = await fetch(`${server.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const api: number[] = [];
const pushed: number[] = [];
const debezium: number[] = [];
let unchanged = 0;
try {
  for (let i = -warmup; i < trials; i++) {
    const {
      rows: [customer],
    } = await pool.query<{ customer_id: number }>(
      "INSERT INTO customers (first_name, last_name, email, password_hash) VALUES ('Fresh', 'Bench', $1, 'x') RETURNING customer_id",
      [`fresh.${process.pid}.${i + warmup}@bench.invalid`],
    );
    const id = customer!.customer_id;
    const listOf = async () => JSON.stringify((await gql(`{ recommendations(customerId: ${id}, first: 10) { productId reason } }`)).recommendations);
    let committed = 0;
    let pushAt = 0;
    let updates = 0;
    const dispose = ws.subscribe(
      { query: `subscription { recommendationsUpdated(customerId: ${id}, first: 10) { computedAt } }` },
      {
        next: () => {
          updates++;
          if (updates === 2) pushAt = Date.now();
        },
        error: (e) => console.error('subscription failed', e),
        complete: () => undefined,
      },
    );
    while (updates === 0) await sleep(5);
    const before = await listOf();
    const seed = seeds[(i + warmup) % seeds.length]!;
    const session = crypto.randomUUID();
    await pool.query("INSERT INTO behavior_events (customer_id, session_id, event_type, product_id, category_id) VALUES ($1, $2, 'view_product', $3, $4)", [
      id,
      session,
      seed.product_id,
      seed.category_id,
    ]);
    committed = Date.now();
    let changedAt = 0;
    while (Date.now() - committed < 10_000) {
      if ((await listOf()) !== before) {
        changedAt = Date.now();
        break;
      }
      await sleep(20);
    }
    while (pushAt === 0 && Date.now() - committed < 10_000) await sleep(5);
    dispose();
    if (i < 0) continue;
    if (changedAt) api.push(changedAt - committed);
    else unchanged++;
    if (pushAt) pushed.push(pushAt - committed);
    const atKafka = onKafka.get(session);
    if (atKafka) debezium.push(atKafka - committed);
    if ((i + 1) % 10 === 0) process.stdout.write(`  ${i + 1}/${trials} trials\n`);
    await sleep(200);
  }
} finally {
  await ws.dispose();
  await server.stop();
  await consumer.disconnect();
  await pool.end();
}
console.log(`\n## Freshness: commit of a view → the customer's recommendations (${trials} trials, cold-start customers)`);
line('baseline: commit → change event on Kafka (Debezium)', summary(debezium));
line('commit → recommendations answer changed (API, 20 ms polls)', summary(api));
line('commit → recommendationsUpdated delivered (graphql-ws)', summary(pushed));
if (unchanged) line('trials whose list did not change within 10 s', String(unchanged));
process.exit(0);
