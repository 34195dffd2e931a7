import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateData } from '../../src/datagen/generate.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/*
 * `rtrec experiment` and `rtrec rule` as a user runs them, on a test database: help, validated flags with exit
 * code 2 and a message that names the fix, and the whole lifecycle. Each spawns a dozen CLI processes (seconds
 * each on a loaded two-core machine), hence the longer timeouts.
 */

let t: TestDatabase;
let env: Record<string, string>;
beforeAll(async () => {
  t = await createTestDatabase('expcli');
  await generateData(t.pool, { categories: 2, products: 10, customers: 5, seed: 2 });
  env = { DATABASE_URL: t.url };
});
afterAll(() => t?.drop());

describe('rtrec experiment and rtrec rule', () => {
  it('print --help for every subcommand', async () => {
    for (const command of [
      ['experiment'],
      ['experiment', 'create'],
      ['experiment', 'start'],
      ['experiment', 'stop'],
      ['experiment', 'show'],
      ['rule'],
      ['rule', 'create'],
      ['rule', 'list'],
      ['rule', 'delete'],
    ]) {
      const result = await runCli([...command, '--help']);
      expect(result.code, command.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/Usage: rtrec/);
    }
  }, 300_000);

  it('exit 2 with a message naming the fix on user mistakes', async () => {
    const cases: [string[], RegExp][] = [
      [['experiment', 'create', '--name', 'x', '--variant', 'onlyname'], /expected <name>:<recommender>\[:<weight>\]/],
      [['experiment', 'create', '--name', 'x', '--variant', 'a:ours', '--variant', 'b:magic'], /variants\[1\]\.recommender must be one of ours, most-popular/],
      [['experiment', 'create', '--name', 'x', '--variant', 'a:ours'], /variants must list 2 to 10 variants/],
      [
        ['experiment', 'create', '--name', 'x', '--variant', 'a:ours', '--variant', 'b:random', '--params', 'c={}'],
        /--params names c, which no --variant defines/,
      ],
      [['experiment', 'create', '--name', 'x', '--variant', 'a:ours', '--variant', 'b:random', '--params', 'a={oops'], /not JSON/],
      [['experiment', 'start', 'one'], /expected a whole number/],
      [['experiment', 'show', '424242'], /Experiment 424242 does not exist/],
      [['rule', 'create', '--name', 'x', '--action', 'boost', '--category', '1', '--factor', '0.5'], /boost's factor must be above 1/],
      [['rule', 'create', '--name', 'x', '--action', 'shout'], /Allowed choices are pin, boost, bury, filter/],
      [['rule', 'create', '--name', 'x', '--action', 'pin', '--product', '1'], /A pin needs productId and position/],
      [['rule', 'create', '--name', 'x', '--action', 'filter', '--category', '999999'], /Category 999999 does not exist/],
      [['rule', 'create', '--name', 'x', '--action', 'filter', '--product', '1', '--ends', 'soon'], /ISO date-time/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  }, 300_000);

  it('create, start, show and stop an experiment; create, list and delete a rule', async () => {
    const created = await runCli(
      ['experiment', 'create', '--name', 'cli', '--variant', 'control:random', '--variant', 'b:ours:3', '--params', 'b={"weights":{"affinity":8}}', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const e = JSON.parse(created.stdout);
    expect(e).toMatchObject({
      name: 'cli',
      status: 'draft',
      variants: [
        { name: 'control', recommender: 'random' },
        { name: 'b', weight: 3, params: { weights: { affinity: 8 } } },
      ],
    });
    expect((await runCli(['experiment', 'start', String(e.experimentId)], env)).stdout).toMatch(/running/);
    const again = await runCli(['experiment', 'start', String(e.experimentId)], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/CONFLICT.*running already/);
    const customer = (await t.db.customer.findFirstOrThrow()).customerId;
    const served = JSON.parse((await runCli(['recommend', '--customer', String(customer), '--json'], env)).stdout);
    expect(served.experiment).toMatchObject({ experimentId: e.experimentId });
    expect((await t.db.experimentAssignment.findMany({ where: { experimentId: e.experimentId } })).map((a) => a.customerId)).toEqual([customer]);
    const shown = await runCli(['experiment', 'show', String(e.experimentId)], env);
    expect(shown.stdout).toMatch(/P\(beats control\)/);
    expect(shown.stdout).toMatch(/control \(control\)/);
    expect((await runCli(['experiment', 'show'], env)).stdout).toMatch(/cli\s+home\s+running/);
    expect(JSON.parse((await runCli(['experiment', 'stop', String(e.experimentId), '--json'], env)).stdout).status).toBe('stopped');

    const rule = await runCli(['rule', 'create', '--name', 'clearance', '--action', 'boost', '--max-stock', '5', '--factor', '2', '--json'], env);
    expect(rule.code, rule.stderr).toBe(0);
    const id = JSON.parse(rule.stdout).ruleId;
    expect((await runCli(['rule', 'list'], env)).stdout).toMatch(/clearance\s+boost\s+stock \.\.5\s+2/);
    expect((await runCli(['rule', 'delete', String(id)], env)).stdout).toMatch(/Deleted rule/);
    expect(await t.db.merchandisingRule.count()).toBe(0);
  }, 300_000);
});
