import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { engineEnv, freePort } from '../helpers/net.js';

let t: TestDatabase;
let env: Record<string, string>;
beforeAll(async () => {
  t = await createTestDatabase('cli');
  env = { DATABASE_URL: t.url };
});
afterAll(() => t.drop());

describe('rtrec CLI', () => {
  it('prints --help for every command', async () => {
    for (const command of [
      [],
      ['db'],
      ['db', 'init'],
      ['db', 'reset'],
      ['db', 'start'],
      ['db', 'stop'],
      ['db', 'status'],
      ['db', 'url'],
      ['generate'],
      ['simulate'],
      ['serve'],
      ['demo'],
      ['token'],
    ]) {
      const result = await runCli([...command, '--help']);
      expect(result.code, command.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/Usage: rtrec/);
    }
  });

  it('exits 2 with a clear message on user mistakes', async () => {
    const cases: [string[], RegExp][] = [
      [['generate', '--products', 'lots'], /--products <n>' argument 'lots' is invalid. expected a whole number/],
      [['generate', '--customers', '-5'], /must be from 0 to/],
      [['simulate', '--sessions', '1000000000'], /must be from 1 to 100000/],
      [['simulate', '--speed', '0'], /--speed <x>' argument '0' is invalid/],
      [['simulate', '--historical', '2', '--until', 'someday'], /ISO date-time/],
      [['simulate', '--frobnicate'], /unknown option '--frobnicate'/],
      [['nonsense'], /unknown command 'nonsense'/],
      [['db', 'reset'], /Re-run with --yes/],
      [['token', '--role', 'customer'], /add --customer <id>/],
      [['token', '--role', 'boss'], /Allowed choices are admin, service, analyst, customer/],
      [['token', '--role', 'admin', '--ttl', '1y'], /expected a duration such as 90s, 15m, 1h or 7d/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('reports invalid configuration and exits 2', async () => {
    const result = await runCli(['db', 'url'], { DATABASE_URL: 'mysql://nope', PORT: 'x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/DATABASE_URL must start with postgres/);
    expect(result.stderr).toMatch(/PORT must be a whole number/);
  });

  it('initialises, generates, simulates and clears data against the configured database', async () => {
    const init = await runCli(['db', 'init'], env);
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/up to date|migrated/);
    expect((await runCli(['db', 'url'], env)).stdout.trim()).toBe(t.url);
    const generated = await runCli(['generate', '--categories', '3', '--products', '20', '--customers', '10', '--seed', '4', '--json'], env);
    expect(generated.code).toBe(0);
    expect(JSON.parse(generated.stdout)).toMatchObject({ categories: 3, products: 20, customers: 10 });
    const sim = await runCli(['simulate', '--sessions', '3', '--duration', '0.2', '--speed', '1000', '--concurrency', '3'], env);
    expect(sim.code).toBe(0);
    expect(sim.stdout).toMatch(/Rows written by table/);
    expect(sim.stdout).toMatch(/Behaviour events by type/);
    expect(sim.stdout).toMatch(/rows\/s/);
    const hist = await runCli(['simulate', '--historical', '2', '--sessions-per-day', '30', '--json'], env);
    expect(hist.code).toBe(0);
    const summary = JSON.parse(hist.stdout);
    expect(summary.mode).toBe('historical');
    expect(summary.rowsByTable.behavior_events).toBeGreaterThan(50);
    // Live sessions sign up a customer now and then: customers are kept by --clear, new ones too.
    const customers = await t.db.customer.count();
    expect(customers).toBeGreaterThanOrEqual(10);
    const cleared = await runCli(['simulate', '--clear', '--json'], env);
    expect(JSON.parse(cleared.stdout).deleted.behavior_events).toBeGreaterThan(0);
    expect(await t.db.behaviorEvent.count()).toBe(0);
    expect(await t.db.customer.count()).toBe(customers);
  });

  it('refuses to simulate an empty shop with advice', async () => {
    const empty = await createTestDatabase('clie');
    try {
      const result = await runCli(['simulate', '--sessions', '1'], { DATABASE_URL: empty.url });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/Run `npx rtrec generate` first/);
    } finally {
      await empty.drop();
    }
  });

  it('serves GraphQL and REST until SIGTERM, then exits cleanly', async () => {
    const server = await startCli(['serve', '--port', '0', '--no-cdc'], env, /ready/);
    try {
      const base = /GraphQL \+ GraphiQL\s+(http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(server.output())![1]!;
      const minted = await runCli(['token', '--role', 'admin', '--ttl', '10m'], env);
      expect(minted.code).toBe(0);
      const gql = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${minted.stdout.trim()}` },
        body: JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' }),
      });
      expect((await gql.json()).data.customers.totalCount).toBe(await t.db.customer.count());
      expect((await fetch(`${base}/health`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('runs the demo: data, API and a background simulation', async () => {
    const demoDb = await createTestDatabase('demo');
    const demo = await startCli(['demo', '--port', '0', '--speed', '600', '--sessions', '5', '--no-cdc'], { DATABASE_URL: demoDb.url }, /ready/);
    try {
      expect(demo.output()).toMatch(/Generating demo data/);
      expect(demo.output()).toMatch(/Background simulation/);
      const base = /GraphQL \+ GraphiQL\s+(http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(demo.output())![1]!;
      // The demo prints an admin token, in GraphiQL's URL fragment too.
      const demoToken = /#token=([\w.-]+)/.exec(demo.output())![1]!;
      expect(demo.output()).toContain(`export RTREC_TOKEN=${demoToken}`);
      // The dashboard's link carries the same token in its fragment.
      expect(demo.output()).toContain(`${base}/dashboard#token=${demoToken}`);
      let events = 0;
      for (let i = 0; i < 60 && events === 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const r = await fetch(`${base}/behavior_events?limit=1`, { headers: { authorization: `Bearer ${demoToken}` } });
        events = (await r.json()).pagination.total;
      }
      expect(events).toBeGreaterThan(0);
      const page = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).toMatch(/graphiql/i);
    } finally {
      expect(await demo.stop()).toBe(0);
      await demoDb.drop();
    }
    // Shutting down must not restart the background simulation on a closing pool, nor log any error.
    expect(demo.output()).toMatch(/shutting down/);
    expect(demo.output()).not.toMatch(/"level":50|simulation failed/);
  });

  it('starts, reports and stops an embedded PostgreSQL of its own, and stack down stops the one the demo started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtrec-cli-'));
    chmodSync(dir, 0o755);
    // Engine ports of its own: `stack down` must not meet a stack `npm start` left running on the default ones.
    const own = { RTREC_DATA_DIR: dir, EMBEDDED_PG_PORT: String(await freePort()), DATABASE_URL: '', ...(await engineEnv()).env };
    try {
      expect((await runCli(['db', 'status'], own)).stdout).toMatch(/not initialised/);
      const started = await runCli(['db', 'start'], own);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stdout).toMatch(/Embedded PostgreSQL running/);
      const status = JSON.parse((await runCli(['db', 'status', '--json'], own)).stdout);
      expect(status).toMatchObject({ mode: 'embedded', running: true, initialized: true });
      expect((await runCli(['db', 'init'], own)).code).toBe(0);
      expect((await runCli(['db', 'url'], own)).stdout).toMatch(/^postgresql:\/\/rtrec_api:.+@127\.0\.0\.1:\d+\/rtrec/);
      expect((await runCli(['db', 'url', '--role', 'owner'], own)).stdout).toMatch(/^postgresql:\/\/rtrec_owner:/);
      expect((await runCli(['db', 'url', '--role', 'superuser'], own)).stdout).toMatch(/^postgresql:\/\/postgres:.+@127\.0\.0\.1:\d+\/rtrec/);
      const wrong = await runCli(['db', 'url', '--role', 'root'], own);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/Allowed choices are api, owner, cdc, flink, superuser/);
      const reset = await runCli(['db', 'reset', '--yes'], own);
      expect(reset.code, reset.stderr).toBe(0);
      // Reset as the owner re-creates the schema; the API role is granted it again.
      const api = new pg.Client({ connectionString: (await runCli(['db', 'url'], own)).stdout.trim() });
      await api.connect();
      try {
        expect((await api.query('SELECT count(*)::int AS n FROM customers')).rows).toEqual([{ n: 0 }]);
      } finally {
        await api.end();
      }
      // A captured database (a replication slot of the connector) is not dropped under the change capture.
      const superuser = new pg.Client({ connectionString: (await runCli(['db', 'url', '--role', 'superuser'], own)).stdout.trim() });
      await superuser.connect();
      try {
        await superuser.query("SELECT pg_create_logical_replication_slot('rtrec_cdc', 'pgoutput')");
        const refused = await runCli(['db', 'reset', '--yes'], own);
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toMatch(/replication slot rtrec_cdc.*nothing was dropped.*rtrec generate --clear/s);
        expect((await superuser.query('SELECT count(*)::int AS n FROM customers')).rows).toEqual([{ n: 0 }]);
      } finally {
        await superuser.query("SELECT pg_drop_replication_slot('rtrec_cdc')").catch(() => undefined);
        await superuser.end();
      }
      expect((await runCli(['db', 'stop'], own)).stdout).toMatch(/stopped/);
      expect(JSON.parse((await runCli(['db', 'status', '--json'], own)).stdout).running).toBe(false);
      // `npm start` brings the database up as part of the stack, so `stack down` (not only `db stop`) stops it.
      const demo = await startCli(['demo', '--port', '0', '--no-cdc', '--no-simulate', '--train-every', '0'], own, /ready/);
      // Its exit code is the demo test's business (above); here only what it leaves running counts.
      await demo.stop();
      const down = await runCli(['stack', 'down'], own);
      expect(down.code, down.stderr).toBe(0);
      expect(down.stdout).toMatch(/postgres: stopped/);
      expect(JSON.parse((await runCli(['db', 'status', '--json'], own)).stdout).running).toBe(false);
    } finally {
      await runCli(['db', 'stop'], own);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
