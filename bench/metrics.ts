import http from 'node:http';
import { Session } from 'node:inspector/promises';
import autocannon from 'autocannon';
import { createPool } from '../src/database/database.js';
import { generateData } from '../src/datagen/generate.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { benchDatabase, flag, line, percentile, startServer } from './lib.js';

const seconds = flag('seconds', 10);
const connections = flag('connections', 8);
const scrapes = flag('scrapes', 500);
const baseAt = process.argv.indexOf('--base');
const baseDir = baseAt >= 0 ? process.argv[baseAt + 1] : undefined;
if (baseAt >= 0 && !baseDir) throw new Error('usage: bench/metrics.ts [--base <checkout of a commit before the metrics, with node_modules>]');

const url = await benchDatabase('rtrec_bench_metrics', { keep: true });
const pool = createPool(url, 2);
const {
  rows: [count],
} = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
if (count!.n === 0) await generateData(pool, { categories: 10, products: 200, customers: 100, seed: 7 });
await pool.end();

const SCRAPE_TOKEN = 'rtrec-bench-metrics-scrape-token-0123456789';
// Engines that are not there: the closed port of a configuration no one listens on.
const nowhere = 'http://127.0.0.1:9';

/** This branch's or the base checkout's server on the bench database. */
const serve = (root: string) => startServer(url, { METRICS_TOKEN: SCRAPE_TOKEN, FLINK_REST_URL: nowhere, CONNECT_URL: nowhere }, root);

async function noopRps(base: string, duration = seconds): Promise<number> {
  const result = await autocannon({
    url: `${base}/graphql`,
    method: 'POST',
    connections,
    duration,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query Noop { __typename }' }),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx responses and ${result.errors} errors`);
  return result.requests.average;
}

/**
 * One GET /metrics as Prometheus makes it: node:http on a kept-alive connection (Prometheus keeps its connections
 * open). `fetch` (undici) added ~0.5 ms and its own garbage collections to every timing, on the same two cores.
 */
const scrapeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function scrapeOnce(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: scrapeAgent, headers: { authorization: `Bearer ${SCRAPE_TOKEN}` } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Scrapes before the measured ones: the server's first scrapes compile its code paths (reported apart). */
const WARMUP_SCRAPES = 20;

interface Timed {
  /** Client-side times (ms, sorted). */
  times: number[];
  warmup: number[];
  /** Positions of the 10 slowest. */
  slowest: number[];
}
const timed = (all: number[]): Timed => {
  const times = all.slice(WARMUP_SCRAPES);
  // Where in the sequence the slowest fell (clustered = a pause of the server or the machine; spread = noise).
  const slowest = times
    .map((t, i) => [t, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 10)
    .map(([, i]) => i);
  return { times: [...times].sort((a, b) => a - b), warmup: all.slice(0, WARMUP_SCRAPES), slowest };
};

/** The server's own count and total seconds of garbage collections of a kind, from a scrape's text. */
function collections(text: string, kind: string): { count: number; seconds: number } {
  const read = (name: string) => Number(new RegExp(`^nodejs_gc_duration_seconds_${name}\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: read('count'), seconds: read('sum') };
}

/**
 * Sequential scrapes, each followed by a GET /livez on the same connection: the baseline, the same HTTP path
 * without the registry, measured through the same moments of the server (its collections after the load
 * included). Returns both, and the size of the last scrape.
 */
async function scrapeTimes(
  base: string,
): Promise<{ scrape: Timed; livez: Timed; bytes: number; series: number; gc: Record<string, { count: number; seconds: number }> }> {
  const scrapeAll: number[] = [];
  const livezAll: number[] = [];
  let text = '';
  let before = '';
  for (let i = 0; i < WARMUP_SCRAPES + scrapes; i++) {
    let started = performance.now();
    const response = await scrapeOnce(`${base}/metrics`);
    scrapeAll.push(performance.now() - started);
    text = response.text;
    if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${text}`);
    if (i === WARMUP_SCRAPES - 1) before = text;
    started = performance.now();
    const live = await scrapeOnce(`${base}/livez`);
    livezAll.push(performance.now() - started);
    if (live.status !== 200) throw new Error(`/livez answered ${live.status}: ${live.text}`);
  }
  return {
    scrape: timed(scrapeAll),
    livez: timed(livezAll),
    bytes: Buffer.byteLength(text),
    series: text.split('\n').filter((l) => l && !l.startsWith('#')).length,
    // The server's collections during the measured scrapes (the last scrape's figures minus the warm-up's last).
    gc: Object.fromEntries(
      ['minor', 'major', 'incremental'].map((kind) => {
        const [a, b] = [collections(before, kind), collections(text, kind)];
        return [kind, { count: b.count - a.count, seconds: b.seconds - a.seconds }];
      }),
    ),
  };
}

const results: Record<string, number> = {};
let scrape: Awaited<ReturnType<typeof scrapeTimes>> | undefined;
/** The same series on the server before any load: Prometheus's usual case, without the load's garbage to collect. */
let quiet: Awaited<ReturnType<typeof scrapeTimes>> | undefined;
// Without --base only this branch runs: its scrape times, and its no-op rate without a comparison.
const rounds: (readonly [string, string])[] = baseDir
  ? [
      ['base (no metrics)', baseDir],
      ['this branch', process.cwd()],
      ['base (no metrics)', baseDir],
      ['this branch', process.cwd()],
    ]
  : [['this branch', process.cwd()]];
for (const [label, root] of rounds) {
  const server = await serve(root);
  try {
    if (root !== baseDir && !quiet) quiet = await scrapeTimes(server.base);
    await noopRps(server.base, 2);
    results[label] = await noopRps(server.base);
    if (root !== baseDir) scrape = await scrapeTimes(server.base);
  } finally {
    await server.stop();
  }
}
// The registry alone, in process (what a scrape costs the server besides HTTP and the token check): our writer
// of the text (src/metrics/exposition.ts) and prom-client's own `registry.metrics()`, alternating, with the heap
// each allocates per scrape (V8's sampling profiler, garbage included).
const inProcess = createMetrics({ engines: { flinkRestUrl: nowhere, connectUrl: nowhere, timeoutMs: 500 } });
for (let i = 0; i < 100; i++) inProcess.http.observe('POST', '/graphql', 200, i / 1000);
const writers = { ours: () => inProcess.scrape(), 'prom-client': () => inProcess.registry.metrics() };
const registryTimes: Record<keyof typeof writers, number[]> = { ours: [], 'prom-client': [] };
for (let i = 0; i < scrapes; i++) {
  for (const [name, write] of Object.entries(writers) as [keyof typeof writers, () => Promise<string>][]) {
    const started = performance.now();
    await write();
    registryTimes[name].push(performance.now() - started);
  }
}
for (const times of Object.values(registryTimes)) times.sort((a, b) => a - b);
const allocated: Record<string, number> = {};
const inspector = new Session();
inspector.connect();
for (const [name, write] of Object.entries(writers)) {
  await inspector.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let i = 0; i < 200; i++) await write();
  const { profile } = await inspector.post('HeapProfiler.stopSampling');
  const total = (node: { selfSize: number; children: unknown[] }): number =>
    node.selfSize + node.children.reduce<number>((sum, child) => sum + total(child as typeof node), 0);
  allocated[name] = total(profile.head as never) / 200;
}
inspector.disconnect();
process.stdout.write(`\n## Metrics cost: ${connections} connections, ${seconds} s each; ${scrapes} sequential scrapes\n`);
for (const [label, value] of Object.entries(results)) line(`${label}: no-op requests/s`, Math.round(value).toLocaleString('en'));
if (baseDir) line('this branch / base (no-op req/s)', `${((results['this branch']! / results['base (no metrics)']!) * 100).toFixed(1)}%`);
const figures = (t: Timed) => `${[50, 95, 99].map((p) => percentile(t.times, p).toFixed(2)).join(' / ')} / ${t.times.at(-1)!.toFixed(2)}`;
function scrapeReport(when: string, series: NonNullable<typeof scrape>): void {
  line(`${when}: /metrics scrape p50 / p95 / p99 / max (ms)`, figures(series.scrape));
  line(`${when}: GET /livez after each scrape (baseline: HTTP without the registry), p50 / p95 / p99 / max (ms)`, figures(series.livez));
  line(
    `${when}: first ${WARMUP_SCRAPES} scrapes (not counted above), first / max (ms)`,
    `${series.scrape.warmup[0]!.toFixed(2)} / ${Math.max(...series.scrape.warmup).toFixed(2)}`,
  );
  line(`${when}: positions of the 10 slowest measured scrapes`, series.scrape.slowest.join(', '));
  line(`${when}: positions of the 10 slowest /livez`, series.livez.slowest.join(', '));
  line(
    `${when}: the server's garbage collections meanwhile: count, mean ms (minor / major / incremental)`,
    Object.values(series.gc)
      .map((g) => `${g.count}, ${g.count ? ((g.seconds / g.count) * 1000).toFixed(2) : '-'}`)
      .join(' / '),
  );
}
scrapeReport('before any load', quiet!);
scrapeReport('after the no-op load', scrape!);
for (const [name, times] of Object.entries(registryTimes))
  line(
    `in process, ${name}'s text: p50 / p99 (ms), KB allocated per scrape`,
    `${percentile(times, 50).toFixed(2)} / ${percentile(times, 99).toFixed(2)}, ${Math.round(allocated[name]! / 1024)}`,
  );
line('/metrics size', `${scrape!.series} samples, ${(scrape!.bytes / 1024).toFixed(1)} KiB`);
process.exit(0);
