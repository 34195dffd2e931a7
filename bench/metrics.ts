import http from 'node:http';
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

/** Sequential scrapes: their client-side times (ms, sorted), the warm-up's, the slowest's positions, and the size of the last one. */
async function scrapeTimes(base: string): Promise<{ times: number[]; warmup: number[]; slowest: number[]; bytes: number; series: number }> {
  const times: number[] = [];
  const warmup: number[] = [];
  let text = '';
  for (let i = 0; i < WARMUP_SCRAPES + scrapes; i++) {
    const started = performance.now();
    const response = await scrapeOnce(`${base}/metrics`);
    text = response.text;
    (i < WARMUP_SCRAPES ? warmup : times).push(performance.now() - started);
    if (response.status !== 200) throw new Error(`/metrics answered ${response.status}: ${text}`);
  }
  // Where in the sequence the slowest scrapes fell (clustered at the start = the load's aftermath; spread = noise).
  const slowest = times
    .map((t, i) => [t, i] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 10)
    .map(([, i]) => i);
  return {
    times: [...times].sort((a, b) => a - b),
    warmup,
    slowest,
    bytes: Buffer.byteLength(text),
    series: text.split('\n').filter((l) => l && !l.startsWith('#')).length,
  };
}

const results: Record<string, number> = {};
let scrape: Awaited<ReturnType<typeof scrapeTimes>> | undefined;
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
    await noopRps(server.base, 2);
    results[label] = await noopRps(server.base);
    if (root !== baseDir) scrape = await scrapeTimes(server.base);
  } finally {
    await server.stop();
  }
}
// The registry alone, in process (what a scrape costs the server besides HTTP and the token check).
const inProcess = createMetrics({ engines: { flinkRestUrl: nowhere, connectUrl: nowhere, timeoutMs: 500 } });
for (let i = 0; i < 100; i++) inProcess.http.observe('POST', '/graphql', 200, i / 1000);
const registryTimes: number[] = [];
for (let i = 0; i < scrapes; i++) {
  const started = performance.now();
  await inProcess.scrape();
  registryTimes.push(performance.now() - started);
}
registryTimes.sort((a, b) => a - b);
process.stdout.write(`\n## Metrics cost: ${connections} connections, ${seconds} s each; ${scrapes} sequential scrapes\n`);
for (const [label, value] of Object.entries(results)) line(`${label}: no-op requests/s`, Math.round(value).toLocaleString('en'));
if (baseDir) line('this branch / base (no-op req/s)', `${((results['this branch']! / results['base (no metrics)']!) * 100).toFixed(1)}%`);
const ms = (p: number) => percentile(scrape!.times, p).toFixed(2);
line('/metrics scrape p50 / p95 / p99 / max (ms)', `${ms(50)} / ${ms(95)} / ${ms(99)} / ${scrape!.times.at(-1)!.toFixed(2)}`);
line(`first ${WARMUP_SCRAPES} scrapes (not counted above), first / max (ms)`, `${scrape!.warmup[0]!.toFixed(2)} / ${Math.max(...scrape!.warmup).toFixed(2)}`);
line('positions of the 10 slowest measured scrapes', scrape!.slowest.join(', '));
line('registry.metrics() in process p50 / p99 (ms)', `${percentile(registryTimes, 50).toFixed(2)} / ${percentile(registryTimes, 99).toFixed(2)}`);
line('/metrics size', `${scrape!.series} samples, ${(scrape!.bytes / 1024).toFixed(1)} KiB`);
process.exit(0);
