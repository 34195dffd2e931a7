/**
 * Commit → subscriber latency through the whole CDC path: PostgreSQL → Debezium → Kafka → the API's
 * bridge → graphql-ws subscribers, measured at the client (receive time − the commit timestamp that
 * Debezium reports), and WebSocket fan-out.
 *
 *   npm run bench:cdc                                    # rates 100 and 1000/s × 1 and 1000 subscribers
 *   npm run bench:cdc -- --seconds 10 --fanout 10000 [--fanout-only] [--rates 5,6] [--pin]   # plus the fan-out runs
 *
 * It brings up the local stack (`rtrec stack up`), registers the connector, and starts `rtrec serve` in
 * its own process. The subscribers run in `--client-procs` (default 2) child processes of their own
 * (bench/subscribers.ts), so the server's event loop serves only the server; the cores are still shared.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createPool } from '../src/database/database.js';
import { projectRoot } from '../src/paths.js';
import { BIN, cli, flag, percentile, waitForQuietTopics } from './lib.js';

const seconds = flag('seconds', 10);
const fanout = flag('fanout', 0);
// Subscriber processes: apart from the server, so its event loop is not the clients' too.
const clientProcs = flag('client-procs', 2);
// Changes/s of the fan-out runs: `--rates 5,6` runs only those.
const ratesAt = process.argv.indexOf('--rates');
// `--pin`: the server process on CPU 0, the subscriber processes on CPU 1 (Linux `taskset`); the stack and
// anything else on the machine still run on either.
const pin = process.argv.includes('--pin');
// Extra node flags for the server process only, e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const fanoutRates = ratesAt >= 0 ? process.argv[ratesAt + 1]!.split(',').map(Number) : [1, 2, 5, 6, 10];

interface Server {
  ws: string;
  pid: number | undefined;
  stop: () => Promise<void>;
}

/** Pins every thread of process `pid` to `cpus` (taskset's list syntax). */
function pinTo(pid: number | undefined, cpus: string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed (${result.error?.message ?? `exit ${result.status}`})`);
}

async function startServer(): Promise<Server> {
  const child = spawn(process.execPath, [...serverNodeArgs, BIN, 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'error' },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /GraphQL \+ GraphiQL\s+http:\/\/([^/\s]+)\/graphql/.exec(out);
      if (m && out.includes('ready')) resolve(`ws://${m[1]}/graphql`);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  if (pin) pinTo(child.pid, '0');
  return {
    ws: url,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

interface Run {
  rate: number;
  subscribers: number;
  latencies: number[];
  /** The highest sampled latency of the changes committed in each second of the run. */
  maxBySecond: number[];
  delivered: number;
  expected: number;
  elapsedS: number;
  failed: number;
  /** error / complete messages and subscribers closed mid-run. */
  errors: number;
  /** 1-minute load average at the start and at the end of the run. */
  load: [number, number];
  /** CPU time / wall time over the run, for the server process and for all client processes together. */
  serverCpu: number;
  clientCpu: number;
}

const CLOCK_TICKS = 100;

/** utime + stime of a process in ms, from /proc (Linux); NaN where that is not readable. */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

interface Report {
  delivered: number;
  lastDelivery: number;
  latencies: number[];
  committed: number[];
  errors: number;
}

/** The subscribers of one run, spread over child processes (bench/subscribers.ts) apart from the server. */
async function startSubscribers(wsUrl: string, subscribers: number) {
  const procs = Math.min(clientProcs, subscribers);
  const sampleEvery = subscribers <= 100 ? 1 : Math.ceil(subscribers / 100);
  const children = Array.from({ length: procs }, (_, i) => {
    const count = Math.floor(subscribers / procs) + (i < subscribers % procs ? 1 : 0);
    const child = fork(join(projectRoot, 'bench', 'subscribers.ts'), [wsUrl, String(count), String(sampleEvery)], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, RTREC_BENCH_TOKEN: benchToken },
      stdio: 'inherit',
    });
    if (pin) pinTo(child.pid, '1');
    return child;
  });
  const request = (child: ChildProcess, type: string) =>
    new Promise<Report>((resolve) => {
      child.once('message', (m: Report) => resolve(m));
      child.send({ type });
    });
  const ready = Promise.all(
    children.map(
      (child) =>
        new Promise<number>((resolve, reject) => {
          child.once('message', (m: { failed: number }) => resolve(m.failed));
          child.once('exit', (code) => reject(new Error(`subscriber process exited ${code}`)));
        }),
    ),
  );
  let failed = 0;
  try {
    failed = (
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('subscribers did not all connect within 120 s')), 120_000).unref()),
      ])
    ).reduce((a, b) => a + b, 0);
  } catch (error) {
    for (const child of children) child.kill();
    throw error;
  }
  return {
    /** Clients that could not connect (their messages count as not delivered). */
    failed,
    cpuMs: () => children.reduce((sum, child) => sum + cpuMs(child.pid), 0),
    reset: () => {
      for (const child of children) child.send({ type: 'reset' });
    },
    report: async (): Promise<Report> => {
      const reports = await Promise.all(children.map((child) => request(child, 'report')));
      return {
        delivered: reports.reduce((sum, r) => sum + r.delivered, 0),
        lastDelivery: Math.max(...reports.map((r) => r.lastDelivery)),
        latencies: reports.flatMap((r) => r.latencies),
        committed: reports.flatMap((r) => r.committed),
        errors: reports.reduce((sum, r) => sum + r.errors, 0),
      };
    },
    stop: () =>
      Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.send({ type: 'stop' });
            }),
        ),
      ),
  };
}

/** Opens `subscribers` graphql-ws connections, writes `rate` committed changes/s for `seconds`, collects latencies. */
async function measure(server: Server, pool: pg.Pool, customerIds: number[], rate: number, subscribers: number): Promise<Run> {
  const clients = await startSubscribers(server.ws, subscribers);
  try {
    // Connected is not yet subscribed: give the server time to register every subscription.
    await new Promise((r) => setTimeout(r, 2000 + subscribers / 5));
    clients.reset();
    const total = rate * seconds;
    const loadAtStart = loadavg()[0]!;
    const started = Date.now();
    const cpuAtStart = { server: cpuMs(server.pid), clients: clients.cpuMs() };
    let issued = 0;
    // Open-loop writer: each change is its own committed transaction, paced to the target rate.
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate));
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
    let report = await clients.report();
    while (report.delivered < expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      report = await clients.report();
    }
    // Throughput up to the last delivery: a server that falls behind delivers late, not faster.
    const end = report.delivered > 0 ? report.lastDelivery : Date.now();
    const wallMs = Date.now() - started;
    return {
      rate,
      subscribers,
      delivered: report.delivered,
      expected,
      failed: clients.failed,
      errors: report.errors,
      load: [loadAtStart, loadavg()[0]!],
      maxBySecond: report.committed.reduce((max, at, i) => {
        const second = Math.max(0, Math.floor((at - started) / 1000));
        max[second] = Math.max(max[second] ?? 0, report.latencies[i]!);
        return max;
      }, [] as number[]),
      latencies: report.latencies.sort((a, b) => a - b),
      elapsedS: (end - started) / 1000,
      serverCpu: (cpuMs(server.pid) - cpuAtStart.server) / wallMs,
      clientCpu: (clients.cpuMs() - cpuAtStart.clients) / wallMs,
    };
  } finally {
    await clients.stop();
  }
}

function report(run: Run): void {
  const l = run.latencies;
  process.stdout.write(
    `${String(run.rate).padStart(5)}/s  ${String(run.subscribers).padStart(6)} subs${run.failed ? ` (${run.failed} failed to connect)` : ''}${run.errors ? ` (${run.errors} errors)` : ''}  delivered ${run.delivered}/${run.expected}  ` +
      `p50 ${percentile(l, 50)} ms  p95 ${percentile(l, 95)} ms  p99 ${percentile(l, 99)} ms  max ${l.at(-1)} ms  ` +
      `(${Math.round(run.delivered / run.elapsedS).toLocaleString('en')} msgs/s)  ` +
      `CPU server ${Math.round(run.serverCpu * 100)}%, clients ${Math.round(run.clientCpu * 100)}%  load ${run.load[0].toFixed(1)} → ${run.load[1].toFixed(1)}\n` +
      `         max latency of the changes committed in each second: ${Array.from(run.maxBySecond, (ms) => ms ?? '-').join(' ')} ms\n`,
  );
}

await cli(['stack', 'up', 'kafka', 'connect']);
await cli(['cdc', 'register']);
await waitForQuietTopics();
const url = (await cli(['db', 'url'])).trim();
const pool = createPool(url, 8);
const { rows } = await pool.query<{ customer_id: number }>('SELECT customer_id FROM customers ORDER BY customer_id LIMIT 500');
if (rows.length === 0) throw new Error('no customers: run `npx rtrec generate` first');
const customerIds = rows.map((r) => r.customer_id);
const server = await startServer();
const benchToken = (await cli(['token', '--role', 'admin', '--ttl', '1d'])).trim();
process.stdout.write(
  `\n## Commit → graphql-ws subscriber latency (${seconds} s per run; writer, PostgreSQL, Kafka, Connect, API and ${clientProcs} client processes on one machine${pin ? '; server pinned to CPU 0, clients to CPU 1' : ''})\n`,
);
try {
  if (!process.argv.includes('--fanout-only')) {
    for (const subscribers of [1, 1000]) {
      for (const rate of [100, 1000]) report(await measure(server, pool, customerIds, rate, subscribers));
    }
  }
  if (fanout > 0) {
    process.stdout.write(`\n## Fan-out: ${fanout} WebSocket subscribers on one server process\n`);
    for (const rate of fanoutRates) {
      report(await measure(server, pool, customerIds, rate, fanout));
      // Let the previous run's sockets finish closing before opening as many again.
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
} finally {
  await server.stop();
  await pool.end();
}
process.exit(0);
