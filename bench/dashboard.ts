/**
 * Commit → rendered in the dashboard, in Chromium, through the whole CDC path: PostgreSQL → Debezium → Kafka →
 * the API's bridge → graphql-ws → the page's live change stream. Each write is its own committed
 * `UPDATE customers ...`; its latency is the moment its row is added to the page's DOM (a MutationObserver in the
 * page, on the page's clock) minus the commit timestamp Debezium reports (source.ts_ms), the same clock on
 * one machine. The baseline in the same run: the same changes at a plain graphql-ws client in this process.
 *
 *   npm run bench:dashboard                       # 300 writes at 10/s
 *   npm run bench:dashboard -- --writes 500 --rate 20 [--keep-stack]
 *
 * It brings up PostgreSQL, Kafka and Kafka Connect (`rtrec stack up kafka connect`), registers the connector,
 * starts `rtrec serve` in its own process and Debian's Chromium headless. It stops the stack afterwards when it
 * started it (unless --keep-stack).
 */
import { spawn, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import type pg from 'pg';
import { type Browser, chromium } from 'playwright-core';
import WebSocket from 'ws';
import { createPool } from '../src/database/database.js';
import { projectRoot } from '../src/paths.js';
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium } from '../tests/helpers/chromium.js';
import { BIN, cli, flag, line, percentile, serverReady, waitForQuietTopics } from './lib.js';

const writes = flag('writes', 300);
const rate = flag('rate', 10);
const keepStack = process.argv.includes('--keep-stack');
if (!Number.isInteger(writes) || writes < 1 || !(rate > 0)) throw new Error('--writes needs a whole number ≥ 1 and --rate a number > 0 (writes per second)');
// The page as this checkout's sources build it (a no-op when the build is fresh).
if (spawnSync(process.execPath, [join(projectRoot, 'scripts', 'ensure-dashboard.mjs')], { stdio: 'inherit' }).status !== 0)
  throw new Error('the dashboard build failed');
const chromiumState = ensureChromium();
if (!chromiumState.ok) throw new Error(`bench:dashboard needs Chromium: ${chromiumState.reason}`);

/** `rtrec serve` with the CDC bridge, in a process of its own. */
async function startServer(): Promise<{ base: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'error' } });
  const base = await serverReady(child);
  return {
    base,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

// Engines already up (someone else's, or kept from an earlier run) stay up.
const wasRunning = (JSON.parse(await cli(['stack', 'status', '--json'])) as { engines: { engine: string; running: boolean }[] }).engines
  .filter((e) => e.running)
  .map((e) => e.engine);
/** Writes, watches the page and the baseline client, and prints the figures. */
async function measure(pool: pg.Pool, customerIds: number[], base: string, token: string, browser: Browser): Promise<void> {
  const client = createClient({
    url: `${base.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  try {
    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => !r.url().startsWith(base) && !r.url().startsWith('data:') && foreign.push(r.url()));
    await page.goto(`${base}/dashboard#token=${token}`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 30_000 });
    // Every customers row the page adds, with the page's clock at that moment.
    await page.evaluate(() => {
      const seen: { committed: string; at: number }[] = [];
      (window as unknown as { rendered: typeof seen }).rendered = seen;
      new MutationObserver((mutations) => {
        const at = Date.now();
        for (const m of mutations)
          for (const node of m.addedNodes) {
            const row = node as HTMLElement;
            if (row.dataset?.table === 'customers') seen.push({ committed: row.dataset.committed!, at });
          }
      }).observe(document.getElementById('changes-rows')!, { childList: true });
    });
    const received: { committed: string; at: number }[] = [];
    client.subscribe<{ tableChanged: { committedAt: string } }>(
      { query: 'subscription { tableChanged(table: "customers") { committedAt } }' },
      {
        next: (r) => r.data && received.push({ committed: r.data.tableChanged.committedAt, at: Date.now() }),
        error: () => undefined,
        complete: () => undefined,
      },
    );
    const renderedCount = () => page.evaluate(() => (window as unknown as { rendered: unknown[] }).rendered.length);
    // Warm-up: until a change reaches both (subscriptions registered, the bridge consuming).
    for (let i = 0; (await renderedCount()) === 0 || received.length === 0; i++) {
      if (i > 120) throw new Error('no change reached the dashboard within 60 s of warm-up: is the connector RUNNING (npx rtrec stack status)?');
      await pool.query('UPDATE customers SET updated_at = now() WHERE customer_id = $1', [customerIds[0]]);
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 2000));
    // Changes committed from here on are measured: the first write waits for it.
    const started = Date.now() + 50;
    const measuredFrom = new Date(started).toISOString();
    const loadAtStart = loadavg()[0]!;
    // Open loop: each write its own committed transaction, paced to the rate.
    for (let issued = 0; issued < writes; issued++) {
      const due = started + (issued * 1000) / rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      void pool.query('UPDATE customers SET updated_at = now() WHERE customer_id = $1', [customerIds[issued % customerIds.length]]);
    }
    const measured = async () =>
      (await page.evaluate(() => (window as unknown as { rendered: { committed: string; at: number }[] }).rendered)).filter((r) => r.committed >= measuredFrom);
    const deadline = Date.now() + 30_000;
    while ((await measured()).length < writes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const latencies = (rows: { committed: string; at: number }[]) => rows.map((r) => r.at - Date.parse(r.committed)).sort((a, b) => a - b);
    const dom = latencies(await measured());
    const ws = latencies(received.filter((r) => r.committed >= measuredFrom));
    const stats = (l: number[]) =>
      `${percentile(l, 50).toFixed(0)} / ${percentile(l, 95).toFixed(0)} / ${percentile(l, 99).toFixed(0)} / ${l.at(-1)?.toFixed(0)}`;
    process.stdout.write(
      `\n## Commit → dashboard DOM in Chromium: ${writes} writes at ${rate}/s (PostgreSQL, Kafka, Connect, API, Chromium and the writer on one machine)\n`,
    );
    line('baseline: commit → graphql-ws client, delivered', `${ws.length}/${writes}`);
    line('baseline: commit → graphql-ws client p50 / p95 / p99 / max (ms)', stats(ws));
    line('commit → row in the dashboard DOM, rendered', `${dom.length}/${writes}`);
    line('commit → row in the dashboard DOM p50 / p95 / p99 / max (ms)', stats(dom));
    line('1-minute load average, start → end', `${loadAtStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
    line('requests to other hosts', String(foreign.length));
  } finally {
    await client.dispose();
  }
}

const cleanup: (() => Promise<unknown>)[] = [];
try {
  await cli(['stack', 'up', 'kafka', 'connect']);
  await cli(['cdc', 'register']);
  await waitForQuietTopics();
  const pool = createPool((await cli(['db', 'url'])).trim(), 4);
  cleanup.push(() => pool.end());
  if (Number((await pool.query('SELECT count(*) AS n FROM customers')).rows[0].n) === 0) await cli(['generate', '--seed', '1']);
  const customerIds = (await pool.query<{ customer_id: number }>('SELECT customer_id FROM customers ORDER BY customer_id LIMIT 500')).rows.map(
    (r) => r.customer_id,
  );
  const server = await startServer();
  cleanup.push(server.stop);
  const token = (await cli(['token', '--role', 'admin', '--ttl', '1h'])).trim();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  cleanup.push(() => browser.close());
  await measure(pool, customerIds, server.base, token, browser);
} finally {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  if (!keepStack && !wasRunning.includes('kafka')) await cli(['stack', 'down']);
}
process.exit(0);
