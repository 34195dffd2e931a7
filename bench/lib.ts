import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../src/config/env.js';
import { ensureDatabaseUrl, migrate } from '../src/database/database.js';
import { type FlinkRest, flinkTopicName, recordsBehind } from '../src/flink/gateway.js';
import { JOB_PREFIX } from '../src/flink/jobs.js';
import { projectRoot } from '../src/paths.js';

/** The CLI entry point the benches drive, as a user would. */
export const BIN = join(projectRoot, 'bin', 'rtrec.js');

/** `--name <number>` from the bench's command line, or the fallback. */
export function flag(name: string, fallback: number, args = process.argv.slice(2)): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** Runs `rtrec <argv>` in a child process with `env`; resolves to its stdout, rejects on a non-zero exit. */
export function cli(argv: string[], env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' }, bin = BIN): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`rtrec ${argv.join(' ')} exited ${code}`))));
  });
}

/** The p-th percentile of an ascending array (nearest rank); NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;
}

/** A fresh, migrated database `name` next to the configured (or embedded) one; returns its URL. */
export async function benchDatabase(name: string, options: { keep?: boolean } = {}): Promise<string> {
  const base = await ensureDatabaseUrl(loadConfig());
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!options.keep || !rowCount) {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  }
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  await migrate(u.toString());
  return u.toString();
}

/** Resolves with the base URL a starting `rtrec serve` prints once it says ready; rejects if it exits first. */
export function serverReady(child: ChildProcessWithoutNullStreams | ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /GraphQL \+ GraphiQL\s+(http:\/\/[^/\s]+)\/graphql/.exec(out);
      if (m && out.includes('ready')) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

const BENCH_SECRET = randomBytes(24).toString('hex');

/** A bench server: its base URL and an admin token for it. */
export interface BenchServer {
  base: string;
  token: string;
  /** The server's process id and its database (for the CPU each request costs them, see againstNoop). */
  pid?: number;
  databaseUrl?: string;
  /** The server's error-level log lines and error messages so far (its stderr is also shown). */
  errorLines: () => string[];
  stop: () => Promise<void>;
}

/**
 * `rtrec serve --no-cdc` on DATABASE_URL=`url` in a process of its own — this checkout's, or the one at `root`
 * (a base build to compare against); resolves once it is ready, with an admin token.
 */
export async function startServer(url: string, extraEnv: NodeJS.ProcessEnv = {}, root = projectRoot): Promise<BenchServer> {
  // One secret for the server and the token it is given, whichever checkout (and data folder) serves.
  const env = { AUTH_SECRET: BENCH_SECRET, ...extraEnv };
  const child = spawn(process.execPath, [join(root, 'bin', 'rtrec.js'), 'serve', '--port', '0', '--no-cdc'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errors: string[] = [];
  let partial = '';
  child.stderr.on('data', (d: Buffer) => {
    process.stderr.write(d);
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    errors.push(...lines.filter((l) => /"level":(50|60)/.test(l) || /\bError\b/.test(l)));
  });
  const base = await serverReady(child);
  // Minted by the same checkout: its data folder holds the secret its server verifies with.
  const token = (
    await cli(['token', '--role', 'admin', '--ttl', '1d'], { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'error', ...env }, join(root, 'bin', 'rtrec.js'))
  ).trim();
  return {
    base,
    token,
    pid: child.pid,
    databaseUrl: url,
    errorLines: () => [...errors],
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface Operation {
  query: string;
  variables?: Record<string, unknown>;
}

/**
 * POSTs GraphQL to `base`/graphql from `connections` connections for `seconds` (autocannon); `query` may be a
 * function, called per request (e.g. a different customer each time, as variables like a real client). Throws
 * on any non-2xx or error.
 */
export async function load(base: string, query: string | (() => string | Operation), seconds: number, connections: number, token?: string) {
  const body = (q: string | Operation) => JSON.stringify(typeof q === 'string' ? { query: q } : q);
  const result = await autocannon({
    url: `${base}/graphql`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    ...(typeof query === 'string' ? { body: body(query) } : { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: body(query()) }) }] }),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`load test saw ${result.non2xx} non-2xx responses and ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

/** CPU time (ms) a local process has used so far (/proc; Linux's USER_HZ is 100), or undefined when unreadable. */
function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * A CPU meter for the server process and the PostgreSQL backends serving its database (when PostgreSQL runs on
 * this machine): `stop()` gives the CPU ms each used since `start`, or undefined where /proc cannot tell.
 */
async function cpuMeter(server: { pid?: number; databaseUrl?: string }) {
  const backends = async (): Promise<number[]> => {
    if (!server.databaseUrl) return [];
    const client = new pg.Client({ connectionString: server.databaseUrl });
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
      );
      return rows.map((r) => r.pid);
    } catch {
      return [];
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const pids = await backends();
  const pgBefore = new Map(pids.map((pid) => [pid, cpuMs(pid) ?? 0]));
  const serverBefore = server.pid ? cpuMs(server.pid) : undefined;
  return {
    async stop(): Promise<{ server?: number; postgres?: number }> {
      const serverAfter = server.pid ? cpuMs(server.pid) : undefined;
      const now = await backends();
      const readable = now.map((pid) => cpuMs(pid)).filter((ms) => ms !== undefined);
      // No backend: the server never connected (the no-op query); none readable: PostgreSQL runs elsewhere.
      const postgres = now.length === 0 ? 0 : readable.length ? now.reduce((sum, pid) => sum + (cpuMs(pid) ?? 0) - (pgBefore.get(pid) ?? 0), 0) : undefined;
      return { server: serverBefore !== undefined && serverAfter !== undefined ? serverAfter - serverBefore : undefined, postgres };
    },
  };
}

/**
 * Warms `query` up, then measures the same server's no-op query `{ __typename }` (the baseline) and `query` for
 * `seconds` each, and prints both with their requests/s ratio.
 */
export async function againstNoop(
  server: { base: string; token?: string; pid?: number; databaseUrl?: string },
  query: string | (() => string | Operation),
  label: string,
  seconds: number,
  connections: number,
) {
  const { base, token } = server;
  // Once by hand first: a GraphQL error is a 200 too, and a bench of errors measures nothing.
  const sample = typeof query === 'string' ? { query } : ((q) => (typeof q === 'string' ? { query: q } : q))(query());
  const check = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(sample),
  });
  const checked = (await check.json()) as { data?: unknown; errors?: unknown };
  if (check.status !== 200 || checked.errors || !checked.data) throw new Error(`${label}: ${check.status} ${JSON.stringify(checked).slice(0, 300)}`);
  await load(base, query, 2, connections, token);
  const noopMeter = await cpuMeter(server);
  const noop = await load(base, '{ __typename }', seconds, connections, token);
  const noopCpu = await noopMeter.stop();
  const meter = await cpuMeter(server);
  const measured = await load(base, query, seconds, connections, token);
  const cpu = await meter.stop();
  // µs of CPU per request: the server process, and PostgreSQL's backends for its database.
  const perRequest = (ms: number | undefined, rps: number) => (ms === undefined ? '?' : Math.round((ms * 1000) / (rps * seconds)).toLocaleString('en'));
  line('baseline: no-op query { __typename }: requests/s', Math.round(noop.rps).toLocaleString('en'));
  line('baseline: no-op latency p50 / p99 (ms)', `${noop.p50} / ${noop.p99}`);
  line(`${label}: requests/s`, Math.round(measured.rps).toLocaleString('en'));
  line(`${label}: latency p50 / p99 (ms)`, `${measured.p50} / ${measured.p99}`);
  line(`${label} / no-op requests/s`, `${((measured.rps / noop.rps) * 100).toFixed(0)}%`);
  line(
    'CPU per request, µs: server / PostgreSQL (no-op; query)',
    `${perRequest(noopCpu.server, noop.rps)} / ${perRequest(noopCpu.postgres, noop.rps)}; ${perRequest(cpu.server, measured.rps)} / ${perRequest(cpu.postgres, measured.rps)}`,
  );
  return { noop, measured, ratio: measured.rps / noop.rps };
}

/** `label ........ value` on one line of the bench's report. */
export function line(label: string, value: string) {
  process.stdout.write(`${label.padEnd(58)} ${value}\n`);
}

/**
 * The running rtrec jobs' real Kafka lag per job: records in the topics they read that their sources have not
 * emitted yet (topics' end offsets − the sources' positions, FlinkRest.sourceOffsets). Unlike the consumers'
 * records-lag-max (jobLag), it does not freeze while a source is back-pressured; it lags by up to Flink's
 * metric refresh (10 s).
 */
export async function offsetLag(
  rest: FlinkRest,
  kafka: { topics: () => Promise<string[]>; ends: (topic: string) => Promise<Map<number, number>> },
): Promise<Record<string, number>> {
  const jobs = (await rest.jobs()).filter((j) => j.name.startsWith(JOB_PREFIX) && j.state === 'RUNNING');
  const byJob: Record<string, number> = {};
  const topics = new Map((await kafka.topics()).map((t) => [flinkTopicName(t), t]));
  const endsOf = new Map<string, Map<number, number>>();
  for (const job of jobs) {
    const positions = await rest.sourceOffsets(job.id);
    for (const key of positions.keys()) {
      const spelled = key.slice(0, key.lastIndexOf('/'));
      const topic = topics.get(spelled);
      if (!topic) throw new Error(`${job.name} reads ${spelled}, which matches no topic`);
      if (!endsOf.has(spelled)) endsOf.set(spelled, await kafka.ends(topic));
    }
    byJob[job.name.slice(JOB_PREFIX.length)] = recordsBehind(positions, (topic, partition) => endsOf.get(topic)!.get(partition) ?? 0)!;
  }
  return byJob;
}

/** Waits until the connector's initial snapshot has drained (topic offsets stop moving for 3 s). */
export async function waitForQuietTopics(): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
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
