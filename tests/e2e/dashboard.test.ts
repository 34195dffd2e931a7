import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.js';
import { replaceFeaturesAsOf } from '../../src/recommend/features-sql.js';
import { DASHBOARD_CSP } from '../../src/server/dashboard.js';
import { listen, type RunningServer } from '../../src/server/http.js';
import { createTestApp, token } from '../helpers/app.js';
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium } from '../helpers/chromium.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { simulatedShop } from '../helpers/history.js';
import { type LogicalChangeFeed, startLogicalChangeFeed } from '../helpers/pg-changes.js';

/*
 * The dashboard at /dashboard in headless Chromium, against the real app on a real PostgreSQL. The change pubsub
 * is fed from the database's logical decoding (tests/helpers/pg-changes.ts) instead of Debezium and Kafka, and
 * the features Flink would write are rebuilt by their SQL definitions: real commits reach the page without the
 * JVM engines (the full path is in tests/e2e/cdc.test.ts and measured by bench/dashboard.ts).
 */

const chromiumState = ensureChromium();
if (!chromiumState.ok && process.env.CI) throw new Error(chromiumState.reason);
if (!chromiumState.ok) process.stderr.write(`dashboard browser tests skipped: ${chromiumState.reason}\n`);

describe.skipIf(!chromiumState.ok)('the dashboard in a real browser (headless Chromium)', () => {
  let t: TestDatabase;
  let server: RunningServer;
  let feed: LogicalChangeFeed;
  let stopSims: () => Promise<void>;
  let browser: Browser;
  let adminToken: string;
  const foreign: string[] = [];
  const tokenInUrl: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    // The page is served from the Vite build; it is made here when missing or stale (npm test's pretest does too).
    const build = spawnSync(process.execPath, [join(projectRoot, 'scripts', 'ensure-dashboard.mjs')], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`the dashboard build failed: ${build.stderr}`);
    t = await createTestDatabase('dash');
    await simulatedShop(t, { categories: 3, products: 30, customers: 12, seed: 5 }, { sessionsPerDay: 40, days: 3, seed: 6 });
    const test = createTestApp(t);
    stopSims = () => test.simulations.shutdown();
    server = await listen(test.app, '127.0.0.1', 0);
    feed = await startLogicalChangeFeed(t.url, test.changes.publish);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    adminToken = await token('admin');
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await feed?.stop();
    await stopSims?.();
    await server?.close();
    await t?.drop();
  });

  async function open(fragmentToken = adminToken): Promise<Page> {
    const page = await browser.newPage();
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(server.url) && !url.startsWith('data:') && !url.startsWith('blob:')) foreign.push(url);
      if (url.includes(fragmentToken)) tokenInUrl.push(url);
    });
    page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // Registered by the browser before any page script: CSP violations would be reported here.
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)),
    );
    await page.goto(`${server.url}/dashboard#token=${fragmentToken}`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    return page;
  }

  it('loads with the token from the fragment (gone from the address bar, in sessionStorage only), with no foreign request and no CSP violation', async () => {
    const page = await open();
    try {
      expect(page.url()).toBe(`${server.url}/dashboard`);
      expect(await page.evaluate(() => [Object.values(sessionStorage), localStorage.length])).toEqual([[adminToken], 0]);
      await page.locator('#health [data-engine="PostgreSQL"][data-state="good"]').waitFor({ timeout: 10_000 });
      // Without the engines, /metrics reports them down: the panel says so instead of failing.
      await page.locator('#health [data-engine="Flink"][data-state="bad"]').waitFor({ timeout: 10_000 });
      await page.locator('#uptake-rows, #sim-runs').first().waitFor({ state: 'attached' });
      expect(await page.locator('#identity').innerText()).toMatch(/^admin/);
      const response = await page.request.get(`${server.url}/dashboard`);
      expect(response.headers()['content-security-policy']).toBe(DASHBOARD_CSP);
    } finally {
      await page.close();
    }
    expect(foreign).toEqual([]);
    expect(tokenInUrl).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('shows a row change in the live change stream within 2 s of its commit', async () => {
    const page = await open();
    try {
      // Subscribed is not yet registered on the server: wait until a first change makes it through.
      const { rows } = await t.pool.query<{ customer_id: number }>('SELECT customer_id FROM customers ORDER BY customer_id LIMIT 2');
      const [warm, watched] = rows.map((r) => r.customer_id);
      await expect
        .poll(
          async () => {
            await t.pool.query('UPDATE customers SET updated_at = now() WHERE customer_id = $1', [warm]);
            return page.locator(`#changes-rows tr[data-table="customers"][data-key="${warm}"]`).count();
          },
          { timeout: 10_000, interval: 500 },
        )
        .toBeGreaterThan(0);
      await t.pool.query("UPDATE customers SET phone_number = '+1 555 0100' WHERE customer_id = $1", [watched]);
      const committed = Date.now();
      const row = page.locator(`#changes-rows tr[data-table="customers"][data-key="${watched}"]`).first();
      await row.waitFor({ timeout: 2000 });
      const shownAfter = Date.now() - committed;
      expect(shownAfter).toBeLessThan(2000);
      expect(await row.getAttribute('data-operation')).toBe('UPDATE');
      // The page's own figure: its clock at drawing time against PostgreSQL's commit timestamp.
      const latency = Number(await row.getAttribute('data-latency'));
      expect(latency).toBeGreaterThanOrEqual(0);
      expect(latency).toBeLessThan(2000);
      expect(await page.locator('#changes-stats').innerText()).toMatch(/commit → screen p50 \d+ ms/);
    } finally {
      await page.close();
    }
    expect(problems).toEqual([]);
  });

  it('follows a customer: their new event appears live and their recommendation list changes after a viewProduct', async () => {
    const page = await open();
    try {
      // A newcomer: their list is the cold-start one, so their first view must change it (a long-time shopper's top
      // item, viewed once more, may keep every place and reason, and no new list would be pushed).
      const { rows } = await t.pool.query<{ customer_id: number }>(
        "INSERT INTO customers (first_name, last_name, email, password_hash) VALUES ('Dash', 'Newcomer', 'dash.newcomer@example.com', 'x') RETURNING customer_id",
      );
      const customerId = rows[0]!.customer_id;
      await page.locator('#customer-id').fill(String(customerId));
      await page.locator('#customer-watch').click();
      await page
        .locator('#customer-name')
        .filter({ hasText: `customer ${customerId}` })
        .waitFor({ timeout: 10_000 });
      const recs = page.locator('#customer-recs');
      await page.locator('#customer-recs[data-version="1"] li').first().waitFor({ timeout: 10_000 });
      const before = await recs.innerText();
      const reasons = await page.locator('#customer-recs .reason').allInnerTexts();
      expect(reasons.length).toBeGreaterThan(0);
      for (const reason of reasons) expect(reason.length).toBeGreaterThan(3);
      // The dashboard's View button: the storefront's viewProduct mutation for this customer.
      const product = Number(await page.locator('#customer-recs li').first().getAttribute('data-product'));
      const events = await t.db.behaviorEvent.count({ where: { customerId, eventType: 'view_product', productId: product } });
      await page.locator('#customer-recs li button.view').first().click();
      await expect
        .poll(() => t.db.behaviorEvent.count({ where: { customerId, eventType: 'view_product', productId: product } }), { timeout: 5000 })
        .toBe(events + 1);
      // …committed, decoded and pushed: on the customer's event list within 2 s.
      await page.locator('#customer-events li.fresh[data-type="view_product"]').first().waitFor({ timeout: 2000 });
      // Flink's part: the features job's definitions, rebuilt as of now; the API is notified and pushes the new list.
      await replaceFeaturesAsOf(t.pool, new Date());
      await page.locator('#customer-recs[data-version="2"]').waitFor({ timeout: 10_000 });
      expect(await recs.innerText()).not.toBe(before);
      expect(await page.locator('#customer-recs-status').innerText()).toMatch(/^Updated/);
    } finally {
      await page.close();
    }
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('starts and stops a simulation from its controls, and refuses a value out of range before sending it', async () => {
    const page = await open();
    try {
      await page.locator('#sim-sessions').fill('0');
      await page.locator('#sim-start').click();
      await expect.poll(() => page.locator('#sim-message').innerText()).toMatch(/sessions: enter 1 to/);
      await page.locator('#sim-sessions').fill('20');
      await page.locator('#sim-durationMinutes').fill('30');
      await page.locator('#sim-speed').fill('1');
      await page.locator('#sim-start').click();
      await expect.poll(() => page.locator('#sim-message').innerText(), { timeout: 10_000 }).toMatch(/Simulation [0-9a-f]{8} running/);
      const running = page.locator('#sim-runs tr[data-status="running"]').first();
      await running.waitFor({ timeout: 10_000 });
      const id = await running.getAttribute('data-run');
      await running.locator('button.stop').click();
      await page.locator(`#sim-runs tr[data-run="${id}"][data-status="cancelled"]`).waitFor({ timeout: 20_000 });
    } finally {
      await page.close();
    }
    expect(problems).toEqual([]);
  });

  it('asks for a token when there is none, and refuses a token that is not a JWT with the way to get one', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/dashboard`);
      await page.locator('#login').waitFor();
      expect(await page.locator('#panels').isHidden()).toBe(true);
      await page.locator('#token-input').fill('not-a-token');
      await page.locator('#token-use').click();
      await expect.poll(() => page.locator('#login-error').innerText()).toMatch(/npx rtrec token/);
    } finally {
      await page.close();
    }
  });

  it('serves its files with the security headers, and nothing outside the build', async () => {
    const page = await fetch(`${server.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${server.url}${script}`);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    for (const path of ['/dashboard/..%2f..%2fpackage.json', '/dashboard/.build-stamp', '/dashboard/assets/nothing.js', '/dashboard/vite.config.ts']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${server.url}/dashboard`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(405);
  });
});
