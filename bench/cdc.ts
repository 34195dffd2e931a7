/**
 * Commit → subscriber latency through the whole CDC path: PostgreSQL → Debezium → Kafka → the API's
 * bridge → graphql-ws subscribers, measured at the client (receive time − the commit timestamp that
 * Debezium reports), and WebSocket fan-out.
 *
 *   npm run bench:cdc                                    # rates 100 and 1000/s × 1 and 1000 subscribers
 *   npm run bench:cdc -- --seconds 10 --fanout 10000 [--fanout-only]   # plus the fan-out run
 *
 * It brings up the local stack (`rtrec stack up`), registers the connector, and starts `rtrec serve` in
 * its own process; everything shares this machine's cores, clients included.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { createPool } from '../src/database/database.js';
import { projectRoot } from '../src/paths.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = flag('seconds', 10);
const fanout = flag('fanout', 0);
const BIN = join(projectRoot, 'bin', 'rtrec.js');

function cli(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'error' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`rtrec ${argv.join(' ')} exited ${code}`))));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;
}

async function startServer(): Promise<{ ws: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'error' } });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /GraphQL \+ GraphiQL\s+http:\/\/([^/\s]+)\/graphql/.exec(out);
      if (m && out.includes('ready')) resolve(`ws://${m[1]}/graphql`);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { ws: url, stop: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }) };
}

interface Run {
  rate: number;
  subscribers: number;
  latencies: number[];
  delivered: number;
  expected: number;
  elapsedS: number;
}

/** Opens `subscribers` graphql-ws connections, writes `rate` committed changes/s for `seconds`, collects latencies. */
async function measure(wsUrl: string, pool: pg.Pool, customerIds: number[], rate: number, subscribers: number): Promise<Run> {
  const latencies: number[] = [];
  let delivered = 0;
  let lastDelivery = 0;
  const clients = Array.from({ length: subscribers }, () => createClient({ url: wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 }));
  const query = 'subscription { customerChanged { committedAt } }';
  for (const [i, client] of clients.entries()) {
    client.subscribe({ query }, {
      next: (value) => {
        const committed = Date.parse((value.data as { customerChanged: { committedAt: string } }).customerChanged.committedAt);
        delivered++;
        lastDelivery = performance.now();
        // Sample latency from every subscriber when few, from a fixed subset when many.
        if (subscribers <= 100 || i % Math.ceil(subscribers / 100) === 0) latencies.push(Date.now() - committed);
      },
      error: () => undefined,
      complete: () => undefined,
    });
  }
  await new Promise((r) => setTimeout(r, 2000 + subscribers));
  latencies.length = 0;
  delivered = 0;
  const total = rate * seconds;
  const started = performance.now();
  let issued = 0;
  // Open-loop writer: each change is its own committed transaction, paced to the target rate.
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      for (; issued < due; issued++) {
        void pool.query('UPDATE customers SET updated_at = now() WHERE customer_id = $1', [customerIds[issued % customerIds.length]]);
      }
      if (issued >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const expected = total * subscribers;
  const deadline = Date.now() + 30_000;
  while (delivered < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // Throughput up to the last delivery: a server that falls behind delivers late, not faster.
  const elapsedS = (Math.max(lastDelivery, performance.now() - 1) - started) / 1000;
  await Promise.all(clients.map((c) => c.dispose()));
  return { rate, subscribers, latencies: latencies.sort((a, b) => a - b), delivered, expected, elapsedS };
}

function report(run: Run): void {
  const l = run.latencies;
  process.stdout.write(
    `${String(run.rate).padStart(5)}/s  ${String(run.subscribers).padStart(6)} subs  delivered ${run.delivered}/${run.expected}  ` +
      `p50 ${percentile(l, 50)} ms  p95 ${percentile(l, 95)} ms  p99 ${percentile(l, 99)} ms  max ${l.at(-1)} ms  ` +
      `(${Math.round(run.delivered / run.elapsedS).toLocaleString('en')} msgs/s)\n`,
  );
}

/** Waits until the connector's initial snapshot has drained (topic offsets stop moving for 3 s). */
async function waitForQuietTopics(): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const { loadConfig } = await import('../src/config/env.js');
  const config = loadConfig();
  const admin = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const total = async () => {
    let sum = 0;
    for (const topic of (await admin.listTopics()).filter((t) => t.startsWith(`${config.cdc.topicPrefix}.public.`))) {
      for (const p of await admin.fetchTopicOffsets(topic)) sum += Number(p.high);
    }
    return sum;
  };
  let last = -1;
  for (let quiet = 0; quiet < 3; ) {
    const now = await total();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
    await new Promise((r) => setTimeout(r, 1000));
  }
  await admin.disconnect();
}

await cli(['stack', 'up']);
await cli(['cdc', 'register']);
await waitForQuietTopics();
const url = (await cli(['db', 'url'])).trim();
const pool = createPool(url, 8);
const { rows } = await pool.query<{ customer_id: number }>('SELECT customer_id FROM customers ORDER BY customer_id LIMIT 500');
if (rows.length === 0) throw new Error('no customers: run `npx rtrec generate` first');
const customerIds = rows.map((r) => r.customer_id);
const server = await startServer();
process.stdout.write(`\n## Commit → graphql-ws subscriber latency (${seconds} s per run; writer, PostgreSQL, Kafka, Connect, API and clients on one 2-core machine)\n`);
try {
  if (!args.includes('--fanout-only')) {
    for (const subscribers of [1, 1000]) {
      for (const rate of [100, 1000]) report(await measure(server.ws, pool, customerIds, rate, subscribers));
    }
  }
  if (fanout > 0) {
    process.stdout.write(`\n## Fan-out: ${fanout} WebSocket subscribers on one server process\n`);
    for (const rate of [1, 2, 5]) {
      report(await measure(server.ws, pool, customerIds, rate, fanout));
      // Let the previous run's sockets finish closing before opening as many again.
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
} finally {
  await server.stop();
  await pool.end();
}
process.exit(0);
