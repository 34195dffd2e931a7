/**
 * Sustained throughput and latency through DB → Debezium → Kafka → Flink → output, everything co-located.
 *
 *   npm run bench:flink                          # 300 s at 100 orders/s (≈ 300 rows/s: each order has 1–3 lines)
 *   npm run bench:flink -- --seconds 60 --rate 200
 *
 * It brings up the whole local stack (`rtrec stack up`), registers the connector, deploys the jobs of
 * flink/, then places orders (each in one transaction with its lines, as the storefront does) at a fixed
 * rate, with one high-value order per second to trigger a fraud alert. It measures, from the commit time
 * Debezium reports (source.ts_ms = PostgreSQL's commit timestamp):
 *   - baseline: commit → the order's change event on Kafka (Debezium alone), read by a Kafka consumer;
 *   - commit → fraud alert on the alerts topic (the triggering order's commit time is the alert's event_time);
 *   - window end → closed revenue window on its topic;
 * and samples the jobs' Kafka lag every 10 s, to show whether it stays bounded.
 */
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../src/config/env.js';
import { createPool, ensureDatabaseUrl } from '../src/database/database.js';
import { inTransaction } from '../src/database/transaction.js';
import { jobLag, waitCaughtUp } from '../src/flink/catch-up.js';
import { FlinkRest } from '../src/flink/gateway.js';
import { flag, percentile, cli as rtrec } from './lib.js';

const seconds = flag('seconds', 300);
const rate = flag('rate', 100);
const REVENUE_WINDOW = 10;
const env = { ...process.env, LOG_LEVEL: 'error', REVENUE_WINDOW_SECONDS: String(REVENUE_WINDOW), FRAUD_HIGH_VALUE: '5000' };

const cli = (argv: string[]) => rtrec(argv, env);
/** Percentile of unsorted latencies. */
const pct = (values: number[], p: number) =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );
const summary = (values: number[]) =>
  `n=${values.length} p50 ${pct(values, 50).toFixed(0)} ms, p95 ${pct(values, 95).toFixed(0)} ms, p99 ${pct(values, 99).toFixed(0)} ms, max ${pct(values, 100).toFixed(0)} ms`;

const config = loadConfig(env);
console.log(`bench:flink — ${seconds} s at ${rate} orders/s; stack up, connector, jobs…`);
await cli(['stack', 'up']);
const url = await ensureDatabaseUrl(config);
await cli(['db', 'init']);
const pool = createPool(url, 8);
const { rows: counts } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
if (counts[0]!.n === 0) await cli(['generate']);
await cli(['cdc', 'register']);
// Fresh jobs with this run's settings (a 10 s revenue window, a high-value threshold only the marker orders pass).
for (const job of ['fraud-detection', 'recommendation-features', 'revenue-stats', 'top-products']) await cli(['jobs', 'cancel', job]);
console.log((await cli(['jobs', 'deploy', '--all', '--fresh'])).trim());

// The fresh jobs first read the topics' history: measure only once they have caught up.
const rest = new FlinkRest(config.flink.restUrl);
console.log(`jobs caught up with the topics' history in ${await waitCaughtUp(rest, 5000)} s`);

const { rows: products } = await pool.query<{ product_id: number; price: string }>(
  'SELECT product_id, price FROM products WHERE price < 100 ORDER BY product_id LIMIT 200',
);
const { rows: customers } = await pool.query<{ customer_id: number }>('SELECT customer_id FROM customers ORDER BY customer_id LIMIT 500');
const prefix = config.cdc.topicPrefix;
const kafka = new Kafka({ clientId: 'bench-flink', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: `bench-flink-${process.pid}`, maxWaitTimeInMs: 20 });
await consumer.connect();
await consumer.subscribe({ topics: [`${prefix}.public.orders`, `${prefix}.fraud-alerts`, `${prefix}.revenue-stats`], fromBeginning: false });
const started = Date.now();
const cdcLatency: number[] = [];
const alertLatency: number[] = [];
const alertByMinute: number[][] = [];
const windowLatency: number[] = [];
const markerOrders = new Set<number>();
await consumer.run({
  eachMessage: async ({ topic, message }) => {
    const now = Date.now();
    if (!message.value) return;
    const value = JSON.parse(message.value.toString()) as Record<string, any>;
    if (topic.endsWith('.public.orders')) {
      if (value.op === 'c' && value.source.ts_ms >= started) cdcLatency.push(now - value.source.ts_ms);
    } else if (topic.endsWith('.fraud-alerts')) {
      if (value.rule === 'high_value' && markerOrders.has(value.order_id)) {
        const latency = now - Date.parse(value.event_time);
        alertLatency.push(latency);
        (alertByMinute[Math.floor((now - started) / 60_000)] ??= []).push(latency);
      }
    } else if (Date.parse(`${value.window_start}Z`) >= started) {
      windowLatency.push(now - Date.parse(`${value.window_end}Z`));
    }
  },
});
// Let the consumer join before the load starts.
await new Promise((r) => setTimeout(r, 3000));

const lagSamples: { t: number; lag: number; in: number }[] = [];
const sampler = setInterval(() => {
  void (async () => {
    const { lag, in: recordsIn } = await jobLag(rest);
    lagSamples.push({ t: Math.round((Date.now() - started) / 1000), lag, in: recordsIn });
  })().catch(() => undefined);
}, 10_000);

let seed = 1;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
async function order(high: boolean): Promise<number> {
  return inTransaction(pool, async (db) => {
    const lines = high
      ? [{ p: products[0]!, q: 1, price: 9999 }]
      : Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
          const p = products[Math.floor(random() * products.length)]!;
          return { p, q: 1 + Math.floor(random() * 2), price: Number(p.price) };
        });
    const total = lines.reduce((s, l) => s + l.price * l.q, 0);
    const customer = customers[Math.floor(random() * customers.length)]!.customer_id;
    const { rows } = await db.query<{ order_id: number }>(
      "INSERT INTO orders (total_price, status, customer_id) VALUES ($1, 'pending', $2) RETURNING order_id",
      [total.toFixed(2), customer],
    );
    for (const l of lines)
      await db.query('INSERT INTO order_items (quantity, price, order_id, product_id) VALUES ($1, $2, $3, $4)', [
        l.q,
        l.price.toFixed(2),
        rows[0]!.order_id,
        l.p.product_id,
      ]);
    return rows[0]!.order_id;
  });
}

let placed = 0;
const inflight = new Set<Promise<unknown>>();
const deadline = started + seconds * 1000;
let nextMarker = started + 1000;
while (Date.now() < deadline) {
  const due = Math.floor(((Date.now() - started) / 1000) * rate);
  while (placed < due) {
    placed++;
    const high = Date.now() >= nextMarker;
    if (high) nextMarker += 1000;
    const p = order(high).then((id) => high && markerOrders.add(id));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= 8) await Promise.race(inflight);
  }
  await new Promise((r) => setTimeout(r, 5));
}
await Promise.all(inflight);
const loadSeconds = (Date.now() - started) / 1000;
// Drain: let the last alerts and windows arrive (a window needs a later commit to close: one more order).
await new Promise((r) => setTimeout(r, 3000));
await order(false);
await new Promise((r) => setTimeout(r, 15_000));
clearInterval(sampler);
await consumer.disconnect();
await pool.end();

console.log(
  `\nplaced ${placed} orders in ${loadSeconds.toFixed(1)} s = ${(placed / loadSeconds).toFixed(0)} orders/s (${markerOrders.size} high-value markers)`,
);
console.log(`baseline commit → Debezium change on Kafka: ${summary(cdcLatency)}`);
console.log(`commit → fraud alert on its topic:          ${summary(alertLatency)}  (${alertLatency.length}/${markerOrders.size} alerts)`);
console.log(`window end → closed revenue window (${REVENUE_WINDOW} s): ${summary(windowLatency)}`);
console.log(`Flink added to the alert path (p50): ${(pct(alertLatency, 50) - pct(cdcLatency, 50)).toFixed(0)} ms`);
console.log(`alert latency p99 per minute of load: ${alertByMinute.map((m, i) => `min ${i + 1}: ${pct(m, 99).toFixed(0)} ms`).join(', ')}`);
console.log("jobs' Kafka lag every 10 s (records not yet read, summed over the jobs):");
console.log(lagSamples.map((s) => `  t=${s.t}s lag=${s.lag} read=${s.in}`).join('\n'));
process.exit(0);
