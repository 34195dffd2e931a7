import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { assignVariant } from '../../src/experiments/assignment.js';
import type { ExperimentRow } from '../../src/experiments/experiments.js';
import { recountResults } from '../../src/experiments/results.js';
import { listen, type RunningServer } from '../../src/server/http.js';
import { startSimulation } from '../../src/simulator/runs.js';
import { as, createTestApp, gql, subscriptionClient } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { simulatedShop } from '../helpers/history.js';

/*
 * Experiments on a real PostgreSQL: the lifecycle and its one-per-placement rule, sticky recorded assignment,
 * serving each customer their variant, impressions and clicks carrying the arm (and refused with a wrong one),
 * the per-variant SQL counts on a known story, the GraphQL names, admin-only mutations and experimentUpdated.
 */

let t: TestDatabase;
let test: ReturnType<typeof createTestApp>;
let customers: number[];

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof AppError ? e.code : String(e)),
  );

beforeAll(async () => {
  t = await createTestDatabase('exp');
  await simulatedShop(t, { categories: 3, products: 30, customers: 40, seed: 8 }, { sessionsPerDay: 40, days: 3, seed: 2 });
  customers = (await t.pool.query<{ customer_id: number }>('SELECT customer_id FROM customers ORDER BY customer_id')).rows.map((r) => r.customer_id);
  test = createTestApp(t);
});
afterAll(async () => {
  await test?.services.close();
  await t?.drop();
});

const twoArms = (name: string, placement?: string) => ({
  name,
  placement,
  variants: [
    { name: 'control', recommender: 'most-popular', weight: 1 },
    { name: 'random', recommender: 'random', weight: 1 },
  ],
});

describe('experiment lifecycle', () => {
  it('goes draft → running → stopped, and a stopped experiment does not run again', async () => {
    const x = test.services.experiments;
    const e = await x.create(twoArms('lifecycle', 'lifecycle'));
    expect(e.status).toBe('draft');
    expect(e.variants.map((v) => [v.name, v.position])).toEqual([
      ['control', 0],
      ['random', 1],
    ]);
    expect(await codeOf(x.stop(e.experimentId))).toBe('CONFLICT');
    expect((await x.start(e.experimentId)).status).toBe('running');
    expect(await codeOf(x.start(e.experimentId))).toBe('CONFLICT');
    const stopped = await x.stop(e.experimentId);
    expect(stopped.status).toBe('stopped');
    expect(stopped.stoppedAt).toBeInstanceOf(Date);
    expect(await codeOf(x.start(e.experimentId))).toBe('CONFLICT');
    expect(await codeOf(x.create(twoArms('lifecycle')))).toBe('CONFLICT');
    expect(await codeOf(x.get(999_999))).toBe('NOT_FOUND');
  });

  it('runs at most one experiment per placement (the database refuses a second)', async () => {
    const x = test.services.experiments;
    const a = await x.create(twoArms('placement a', 'side'));
    const b = await x.create(twoArms('placement b', 'side'));
    const c = await x.create(twoArms('placement c', 'other'));
    await x.start(a.experimentId);
    const refused = await x.start(b.experimentId).catch((e: AppError) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('CONFLICT');
    expect((refused as AppError).message).toContain(`Experiment ${a.experimentId}`);
    expect((await x.start(c.experimentId)).status).toBe('running');
    // Started at the same moment, two experiments of one placement: one wins.
    await x.stop(a.experimentId);
    const d = await x.create(twoArms('placement d', 'side'));
    const both = await Promise.allSettled([x.start(b.experimentId), x.start(d.experimentId)]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await t.db.experiment.count({ where: { placement: 'side', status: 'running' } })).toBe(1);
    for (const e of await t.db.experiment.findMany({ where: { status: 'running' } })) await x.stop(e.experimentId);
  });
});

describe('serving an experiment', () => {
  let e: ExperimentRow;
  beforeAll(async () => {
    e = await test.services.experiments.create({
      name: 'serving',
      variants: [
        { name: 'control', recommender: 'ours', weight: 1 },
        { name: 'random', recommender: 'random', weight: 3 },
      ],
    });
    await test.services.experiments.start(e.experimentId);
  });
  afterAll(async () => {
    await test.services.experiments.stop(e.experimentId).catch(() => undefined);
  });

  it('serves each customer the variant of their hash, records it, and keeps it', async () => {
    for (const customerId of customers) {
      const list = await test.services.recommendations.get(customerId, { first: 5 });
      const expected = e.variants[assignVariant(e.experimentId, customerId, [1, 3])]!;
      expect(list.length).toBeGreaterThan(0);
      for (const r of list) expect(r).toMatchObject({ experimentId: e.experimentId, variantId: expected.variantId, variant: expected.name });
      if (expected.name === 'random') expect(list.every((r) => r.reason === 'random baseline')).toBe(true);
      else expect(list.some((r) => r.reason === 'random baseline')).toBe(false);
    }
    const recorded = await t.db.experimentAssignment.findMany({ where: { experimentId: e.experimentId } });
    expect(recorded).toHaveLength(customers.length);
    for (const a of recorded) expect(a.variantId).toBe(e.variants[assignVariant(e.experimentId, a.customerId, [1, 3])]!.variantId);
    // The recorded assignment is what is served, even if it was recorded otherwise (e.g. by an earlier scheme).
    const someone = customers[0]!;
    const other = e.variants.find((v) => v.variantId !== recorded.find((a) => a.customerId === someone)!.variantId)!;
    await t.db.experimentAssignment.update({
      where: { experimentId_customerId: { experimentId: e.experimentId, customerId: someone } },
      data: { variantId: other.variantId },
    });
    const fresh = createTestApp(t);
    try {
      const served = await fresh.services.experiments.serve(someone, { first: 3 });
      expect(served.arm?.variantId).toBe(other.variantId);
    } finally {
      await fresh.services.close();
    }
  });

  it('records impressions and clicks with the experiment and variant, and refuses a wrong arm', async () => {
    const customerId = customers[1]!;
    const list = await test.services.recommendations.get(customerId, { first: 4 });
    const { experimentId, variantId } = list[0]!;
    const listId = randomUUID();
    const items = list.map((r, i) => ({ productId: r.productId, position: i + 1, reason: r.reason, source: r.source }));
    await t.storefront.showRecommendations(customerId, { listId, recommender: 'ours', items, experimentId, variantId });
    await t.storefront.clickRecommendation(customerId, { listId, recommender: 'ours', experimentId, variantId }, items[0]!);
    const events = await t.db.behaviorEvent.findMany({ where: { customerId, eventType: { in: ['recommendation_impression', 'recommendation_click'] } } });
    const ours = events.filter((ev) => (ev.context as { listId?: string }).listId === listId);
    expect(ours).toHaveLength(items.length + 1);
    for (const ev of ours) expect(ev.context).toMatchObject({ experimentId, variantId });

    const wrong = e.variants.find((v) => v.variantId !== variantId)!.variantId;
    const shown = (arm: { experimentId?: number; variantId?: number }) =>
      codeOf(t.storefront.showRecommendations(customerId, { listId: randomUUID(), recommender: 'ours', items, ...arm }));
    expect(await shown({ experimentId, variantId: wrong })).toBe('BAD_USER_INPUT');
    expect(await shown({ experimentId })).toBe('BAD_USER_INPUT');
    expect(await shown({ experimentId: 999_999, variantId })).toBe('NOT_FOUND');
    const unserved = (await t.db.customer.create({ data: { firstName: 'N', lastName: 'N', email: `n-${randomUUID()}@x.test`, passwordHash: 'x' } })).customerId;
    expect(await codeOf(t.storefront.showRecommendations(unserved, { listId: randomUUID(), recommender: 'ours', items, experimentId, variantId }))).toBe(
      'BAD_USER_INPUT',
    );
  });
});

describe('per-variant counts', () => {
  it('count impressions, clicks, later add-to-carts and paid purchases of clicked products, with their revenue', async () => {
    const x = test.services.experiments;
    const e = await x.create({ ...twoArms('counts', 'counts-placement') });
    await x.start(e.experimentId);
    const [c1, c2] = customers.slice(5, 7) as [number, number];
    const products = (await t.db.product.findMany({ where: { isActive: true, stock: { gt: 20 } }, take: 4, orderBy: { productId: 'asc' } })).map((p) => p);
    const report = async (customerId: number, sessionId: string) => {
      const arm = (await x.armFor(customerId, 'counts-placement'))!;
      const listId = randomUUID();
      const items = products.map((p, i) => ({ productId: p.productId, position: i + 1, reason: 'r', source: 's' }));
      const ids = { experimentId: arm.experimentId, variantId: arm.variantId };
      await t.storefront.showRecommendations(customerId, { listId, recommender: arm.recommender, items, ...ids }, { sessionId });
      return { arm: ids, listId, items };
    };
    await t.db.cart.deleteMany({ where: { customerId: { in: [c1, c2] } } });
    // c1: shown 4, clicks two, adds one to the cart and buys it (2 pieces).
    const s1 = randomUUID();
    const one = await report(c1, s1);
    await t.storefront.clickRecommendation(c1, { listId: one.listId, recommender: 'x', ...one.arm }, one.items[0]!, { sessionId: s1 });
    await t.storefront.clickRecommendation(c1, { listId: one.listId, recommender: 'x', ...one.arm }, one.items[1]!, { sessionId: s1 });
    await t.storefront.addToCart(c1, products[0]!.productId, 2, { sessionId: s1 });
    const order = await t.storefront.placeOrder(c1, 'credit_card', { sessionId: s1 });
    // c2: shown 4 twice, clicks none, buys a shown product anyway (not a conversion: never clicked).
    const s2 = randomUUID();
    await report(c2, s2);
    await report(c2, s2);
    await t.storefront.addToCart(c2, products[2]!.productId, 1, { sessionId: s2 });
    await t.storefront.placeOrder(c2, 'credit_card', { sessionId: s2 });

    const counts = await recountResults(t.pool, e.experimentId);
    const of = (customerId: number) => counts.find((c) => c.variantId === e.variants[assignVariant(e.experimentId, customerId, [1, 1])]!.variantId)!;
    const paid = order.status === 'paid';
    const expectedRevenue = paid ? (Number(products[0]!.price) * 2).toFixed(2) : '0.00';
    const sameArm = of(c1).variantId === of(c2).variantId;
    expect(of(c1)).toMatchObject({
      impressions: sameArm ? 12 : 4,
      clicks: 2,
      carts: 1,
      purchases: paid ? 1 : 0,
      revenue: expectedRevenue,
    });
    if (!sameArm) expect(of(c2)).toMatchObject({ impressions: 8, clicks: 0, carts: 0, purchases: 0, revenue: '0.00' });
    await x.stop(e.experimentId);
  });
});

describe('GraphQL', () => {
  const CREATE = `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { id name status variants { name recommender } } }`;

  it('creates, starts, reads and stops an experiment with the names our client checks (admin)', async () => {
    const created = await gql<any, any>(test.app, CREATE, {
      input: {
        name: 'gql',
        placement: 'gql',
        variants: [
          { name: 'a', recommender: 'ours', params: { weights: { affinity: 4 } } },
          { name: 'b', recommender: 'random', weight: 2 },
        ],
      },
    });
    expect(created.errors).toBeUndefined();
    const id = created.data.createExperiment.id;
    expect(created.data.createExperiment).toMatchObject({
      status: 'draft',
      variants: [
        { name: 'a', recommender: 'ours' },
        { name: 'b', recommender: 'random' },
      ],
    });
    const started = await gql<any, any>(test.app, `mutation { startExperiment(id: ${id}) { status startedAt } }`);
    expect(started.data.startExperiment.status).toBe('running');
    const read = await gql<any, any>(
      test.app,
      `{ experiment(id: ${id}) { id variants { name impressions clicks ctr conversionRate revenuePerMille probabilityToBeatControl } } experiments { id } }`,
    );
    expect(read.errors).toBeUndefined();
    const [a, b] = read.data.experiment.variants;
    expect(a).toEqual({ name: 'a', impressions: 0, clicks: 0, ctr: 0, conversionRate: 0, revenuePerMille: 0, probabilityToBeatControl: null });
    expect(b).toMatchObject({ name: 'b', impressions: 0, clicks: 0, ctr: 0, conversionRate: 0, revenuePerMille: 0 });
    // No data: the posteriors are equal, an even chance.
    expect(b.probabilityToBeatControl).toBeCloseTo(0.5, 10);
    expect(read.data.experiments.map((e: { id: number }) => e.id)).toContain(id);
    const stopped = await gql<any, any>(test.app, `mutation { stopExperiment(id: ${id}) { status } }`);
    expect(stopped.data.stopExperiment.status).toBe('stopped');
  });

  it('refuses bad input with a typed error that names the field', async () => {
    const bad = await gql<any, any>(test.app, CREATE, {
      input: {
        name: 'bad',
        variants: [
          { name: 'a', recommender: 'ours' },
          { name: 'b', recommender: 'magic' },
        ],
      },
    });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'variants[1].recommender' });
    const missing = await gql<any, any>(test.app, 'mutation { startExperiment(id: 987654) { status } }');
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('lets only the admin create, start and stop experiments', async () => {
    const input = {
      name: 'roles',
      placement: 'roles',
      variants: [
        { name: 'a', recommender: 'ours' },
        { name: 'b', recommender: 'random' },
      ],
    };
    for (const role of ['service', 'analyst', 'customer', 'anonymous'] as const) {
      const headers = await as(role, role === 'customer' ? customers[0] : undefined);
      const result = await gql<any, any>(test.app, CREATE, { input }, headers);
      expect(result.errors?.[0]?.extensions?.code, role).toBe(role === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN');
      expect((await gql<any, any>(test.app, 'mutation { startExperiment(id: 1) { status } }', undefined, headers)).errors?.[0]?.extensions?.code).toMatch(
        /FORBIDDEN|UNAUTHENTICATED/,
      );
      expect((await gql<any, any>(test.app, 'mutation { stopExperiment(id: 1) { status } }', undefined, headers)).errors?.[0]?.extensions?.code).toMatch(
        /FORBIDDEN|UNAUTHENTICATED/,
      );
    }
    expect(await t.db.experiment.count({ where: { name: 'roles' } })).toBe(0);
  });

  it('serves the experiment through the recommendations query and records its impressions through the storefront mutations', async () => {
    const e = await test.services.experiments.create({ ...twoArms('gql serving'), placement: 'home' });
    await test.services.experiments.start(e.experimentId);
    try {
      const customerId = customers[3]!;
      const recs = await gql<any, any>(
        test.app,
        `{ recommendations(customerId: ${customerId}, first: 3) { productId reason experimentId variantId variant } }`,
      );
      expect(recs.errors).toBeUndefined();
      const first = recs.data.recommendations[0];
      expect(first.experimentId).toBe(e.experimentId);
      const listId = randomUUID();
      const items = recs.data.recommendations.map((r: { productId: number }, i: number) => ({ productId: r.productId, position: i + 1 }));
      const shown = await gql<any, any>(
        test.app,
        `mutation($items: [ShownRecommendationInput!]!) { recordRecommendationImpressions(customerId: ${customerId}, listId: "${listId}", items: $items, experimentId: ${first.experimentId}, variantId: ${first.variantId}) }`,
        { items },
      );
      expect(shown.data.recordRecommendationImpressions).toBe(items.length);
      const click = await gql<any, any>(
        test.app,
        `mutation { recordRecommendationClick(customerId: ${customerId}, listId: "${listId}", item: { productId: ${items[0].productId}, position: 1 }, experimentId: ${first.experimentId}, variantId: ${first.variantId}) { context } }`,
      );
      expect(click.data.recordRecommendationClick.context).toMatchObject({ experimentId: e.experimentId, variantId: first.variantId });
      const counts = await recountResults(t.pool, e.experimentId);
      expect(counts.find((c) => c.variantId === first.variantId)).toMatchObject({ impressions: items.length, clicks: 1 });
    } finally {
      await test.services.experiments.stop(e.experimentId);
    }
  });

  it('pushes experimentUpdated when subscribing and when the experiment changes', async () => {
    const e = await test.services.experiments.create(twoArms('pushed', 'pushed'));
    const server: RunningServer = await listen(test.app, '127.0.0.1', 0);
    const client = subscriptionClient(server.url);
    try {
      const statuses: string[] = [];
      let subscribed: () => void = () => undefined;
      const first = new Promise<void>((resolve) => {
        subscribed = resolve;
      });
      const done = new Promise<void>((resolve, reject) => {
        const dispose = client.subscribe<any>(
          { query: `subscription { experimentUpdated(id: ${e.experimentId}) { id status variants { name impressions } } }` },
          {
            next: (value) => {
              if (value.errors) return reject(new Error(JSON.stringify(value.errors)));
              statuses.push(value.data.experimentUpdated.status);
              subscribed();
              if (statuses.includes('running')) {
                dispose();
                resolve();
              }
            },
            error: reject,
            complete: () => resolve(),
          },
        );
      });
      await first;
      await test.services.experiments.start(e.experimentId);
      await done;
      expect(statuses[0]).toBe('draft');
      expect(statuses.at(-1)).toBe('running');
      const analyst = await new Promise<string>((resolve) => {
        const other = subscriptionClient(server.url, 'customer', customers[0]);
        other.subscribe(
          { query: `subscription { experimentUpdated(id: ${e.experimentId}) { id } }` },
          {
            next: (v: any) => resolve(v.errors?.[0]?.extensions?.code ?? 'ok'),
            error: (err: any) => resolve(String(err?.[0]?.extensions?.code ?? err)),
            complete: () => undefined,
          },
        );
      });
      expect(analyst).toBe('FORBIDDEN');
    } finally {
      await test.services.experiments.stop(e.experimentId).catch(() => undefined);
      await client.dispose();
      await server.close();
    }
  });
});

describe('live results', () => {
  it('pushes experimentUpdated with the counts the Flink job writes (a trigger notifies after commit)', async () => {
    const e = await test.services.experiments.create(twoArms('results pushed', 'results'));
    const server: RunningServer = await listen(test.app, '127.0.0.1', 0);
    const client = subscriptionClient(server.url);
    const [control, variant] = e.variants as [ExperimentRow['variants'][0], ExperimentRow['variants'][0]];
    try {
      const seen: { name: string; impressions: number; clicks: number; probabilityToBeatControl: number | null }[][] = [];
      let subscribed: () => void = () => undefined;
      const first = new Promise<void>((resolve) => {
        subscribed = resolve;
      });
      const done = new Promise<void>((resolve, reject) => {
        const dispose = client.subscribe<any>(
          { query: `subscription { experimentUpdated(id: ${e.experimentId}) { variants { name impressions clicks probabilityToBeatControl } } }` },
          {
            next: (value) => {
              if (value.errors) return reject(new Error(JSON.stringify(value.errors)));
              seen.push(value.data.experimentUpdated.variants);
              subscribed();
              if (seen.at(-1)?.[1]?.impressions === 1000) {
                dispose();
                resolve();
              }
            },
            error: reject,
            complete: () => resolve(),
          },
        );
      });
      await first;
      // What the Flink job's JDBC sink writes (as the Flink role would; the trigger fires for any writer).
      await t.pool.query(
        `INSERT INTO experiment_results VALUES ($1, $2, 1000, 30, 5, 2, 80.00, now()), ($1, $3, 1000, 45, 9, 4, 150.00, now())
         ON CONFLICT (experiment_id, variant_id) DO UPDATE SET impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks`,
        [e.experimentId, control.variantId, variant.variantId],
      );
      await done;
      expect(seen[0]!.map((v) => v.impressions)).toEqual([0, 0]);
      const last = seen.at(-1)!;
      expect(last.map((v) => [v.name, v.impressions, v.clicks])).toEqual([
        ['control', 1000, 30],
        ['random', 1000, 45],
      ]);
      expect(last[1]!.probabilityToBeatControl).toBeGreaterThan(0.94);
    } finally {
      await client.dispose();
      await server.close();
    }
  });
});

describe('the simulator', () => {
  it('shows each shopper their variant and records the arm with every impression and click (--recommender experiment)', async () => {
    const x = test.services.experiments;
    const e = await x.create(twoArms('simulated'));
    await x.start(e.experimentId);
    try {
      const run = await startSimulation(
        { db: t.db, pool: t.pool, storefront: t.storefront, logger: t.logger, recommender: t.recommender, experiments: x },
        { sessions: 30, durationMinutes: 1, speed: 1000, concurrency: 4, seed: 4, sessionsPerDay: 1, recommendations: 5, recommender: 'experiment' },
      );
      const summary = await run.done;
      expect(summary.recommendations?.impressions).toBeGreaterThan(0);
      const { rows } = await t.pool.query<{ customer_id: number; variant_id: number; n: number }>(
        `SELECT customer_id, (context->>'variantId')::int AS variant_id, count(*)::int AS n FROM behavior_events
          WHERE context->>'runId' = $1 AND event_type IN ('recommendation_impression', 'recommendation_click') GROUP BY 1, 2`,
        [run.runId],
      );
      expect(rows.reduce((a, r) => a + r.n, 0)).toBe(summary.recommendations!.impressions + summary.recommendations!.clicks);
      for (const r of rows) expect(r.variant_id).toBe(e.variants[assignVariant(e.experimentId, r.customer_id, [1, 1])]!.variantId);
      const counts = await recountResults(t.pool, e.experimentId);
      expect(counts.reduce((a, c) => a + c.impressions, 0)).toBe(summary.recommendations!.impressions);
    } finally {
      await x.stop(e.experimentId);
    }
  });
});
