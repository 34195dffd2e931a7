import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateData } from '../../src/datagen/generate.js';
import { listen, type RunningServer } from '../../src/server/http.js';
import { createTestApp, token } from '../helpers/app.js';
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium } from '../helpers/chromium.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const chromiumState = ensureChromium();
// On CI the browser is always installed above, so these tests always run there; elsewhere say why they cannot.
if (!chromiumState.ok && process.env.CI) throw new Error(chromiumState.reason);
if (!chromiumState.ok) process.stderr.write(`browser tests skipped: ${chromiumState.reason}\n`);

describe.skipIf(!chromiumState.ok)('in a real browser (headless Chromium)', () => {
  let t: TestDatabase;
  let server: RunningServer;
  let stopSims: () => Promise<void>;
  let browser: Browser;
  const foreign: string[] = [];

  beforeAll(async () => {
    t = await createTestDatabase('web');
    await generateData(t.pool, { categories: 3, products: 20, customers: 10, seed: 2 });
    const test = createTestApp(t);
    stopSims = () => test.simulations.shutdown();
    server = await listen(test.app, '127.0.0.1', 0);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await stopSims?.();
    await server?.close();
    await t?.drop();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url) && !request.url().startsWith('data:') && !request.url().startsWith('blob:')) foreign.push(request.url());
    });
    await page.goto(`${server.url}${path}`);
    return page;
  }

  async function runInGraphiQL(query: string): Promise<string> {
    // The admin token in the fragment, as the demo prints it: GraphiQL puts it into its headers.
    const page = await open(`/graphql?query=${encodeURIComponent(query)}#token=${await token('admin')}`);
    const run = page.locator('.graphiql-execute-button');
    await run.waitFor({ timeout: 30_000 });
    await run.click();
    const result = page.locator('.graphiql-response');
    await expect.poll(async () => (await result.innerText()).replace(/\s+/g, ' '), { timeout: 30_000 }).toMatch(/"data"/);
    const text = await result.innerText();
    await page.close();
    return text;
  }

  it('GraphiQL runs mutation { simulate(sessions: 50) { id status } } with no request to another host', async () => {
    const text = await runInGraphiQL('mutation { simulate(sessions: 50, speed: 1000, durationMinutes: 0.2) { id status } }');
    expect(text.replace(/\s+/g, ' ')).toMatch(/"status": "running"/);
    expect(foreign).toEqual([]);
  });

  it('GraphiQL runs a list query', async () => {
    const text = await runInGraphiQL('{ customers(first: 3) { totalCount edges { node { customerId firstName } } } }');
    // 10 generated, and any the simulation above has signed up meanwhile.
    expect(Number(/"totalCount":\s*(\d+)/.exec(text.replace(/\s+/g, ' '))?.[1])).toBeGreaterThanOrEqual(10);
    expect(foreign).toEqual([]);
  });

  it('the REST docs page renders the OpenAPI operations offline', async () => {
    const page = await open('/docs');
    await page.locator('.opblock-summary-path').first().waitFor({ timeout: 30_000 });
    const paths = await page.locator('.opblock-summary-path').allInnerTexts();
    expect(paths).toEqual(expect.arrayContaining(['/customers', '/orders', '/order_item']));
    await page.close();
    expect(foreign).toEqual([]);
  });
});
