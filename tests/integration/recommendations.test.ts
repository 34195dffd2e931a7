import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateData } from '../../src/datagen/generate.js';
import { diversify } from '../../src/recommend/ranker.js';
import { similarProducts, trendingProducts } from '../../src/recommend/serving.js';
import { listen } from '../../src/server/http.js';
import { createTestApp, gql, subscriptionClient } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/*
 * Serving rules on a real PostgreSQL with hand-written feature rows (what the Flink job would write):
 * similarity and its reasons, exclusions, cold start, diversity, and the GraphQL fields.
 */

let t: TestDatabase;
let p: { id: number; name: string; category: number }[];
let app: ReturnType<typeof createTestApp>['app'];

beforeAll(async () => {
  t = await createTestDatabase('recs');
  await generateData(t.pool, { categories: 3, products: 24, customers: 6, seed: 3 });
  const { rows } = await t.pool.query<{ product_id: number; name: string; category_id: number }>(
    'SELECT product_id, name, category_id FROM products ORDER BY product_id',
  );
  p = rows.map((r) => ({ id: r.product_id, name: r.name, category: r.category_id }));
  await t.pool.query('UPDATE products SET is_active = true, stock = 50');
  const [a, b, c, d, e, f, g] = p;
  // Customer 1 recently viewed A, bought B long ago; E is in their cart.
  await t.pool.query(`INSERT INTO rec_customer_product VALUES (1, $1, 3, 0, 0, 0, now()), (1, $2, 1, 1, 0, 1, now() - interval '3 days')`, [a!.id, b!.id]);
  await t.pool.query('INSERT INTO carts (quantity, customer_id, product_id) VALUES (1, 1, $1)', [e!.id]);
  // A is bought with C and E and B, viewed with D; F (inactive) and G (out of stock) are A's strongest neighbours.
  const pairs: [number, number, string, number][] = [
    [a!.id, c!.id, 'purchase', 6],
    [a!.id, e!.id, 'purchase', 8],
    [a!.id, b!.id, 'purchase', 9],
    [a!.id, d!.id, 'view', 5],
    [a!.id, f!.id, 'purchase', 10],
    [a!.id, g!.id, 'purchase', 10],
  ];
  for (const [x, y, kind, n] of pairs) await t.pool.query('INSERT INTO rec_cooccurrence VALUES ($1, $2, $3, $4), ($2, $1, $3, $4)', [x, y, kind, n]);
  for (const product of p) await t.pool.query("INSERT INTO rec_item_support VALUES ($1, 'purchase', 20), ($1, 'view', 40)", [product.id]);
  await t.pool.query('UPDATE products SET is_active = false WHERE product_id = $1', [f!.id]);
  await t.pool.query('UPDATE products SET stock = 0 WHERE product_id = $1', [g!.id]);
  // Popularity: every product, the last ones most popular; a trend for three of them.
  for (const [i, product] of p.entries()) await t.pool.query('INSERT INTO rec_product_stats VALUES ($1, $2::bigint, 0, 0, 0, $2::float8)', [product.id, i + 1]);
  for (const [i, product] of p.slice(-3).entries())
    await t.pool.query("INSERT INTO rec_product_trend VALUES ($1, now() - interval '1 minute', $2)", [product.id, 10 + i]);
  await t.pool.query('INSERT INTO rec_customer_category VALUES (1, $1, 10)', [a!.category]);
  app = createTestApp(t).app;
});

afterAll(async () => {
  await t?.drop();
});

describe('recommendations', () => {
  it('recommends items bought or viewed with recent ones, revisits, and favourite-category hits, each with a reason naming real things', async () => {
    const list = await t.recommender.recommend(1, { first: 20 });
    expect(list).toHaveLength(20);
    const entry = (id: number) => list.find((r) => r.productId === id);
    expect(entry(p[2]!.id)).toMatchObject({ reason: `bought together with ${p[0]!.name}`, source: 'similar' });
    expect(entry(p[3]!.id)).toMatchObject({ reason: `viewed together with ${p[0]!.name}`, source: 'similar' });
    // Co-purchase counts double: C (bought with A 6 times) outranks D (viewed with A 5 times).
    expect(list.indexOf(entry(p[2]!.id)!)).toBeLessThan(list.indexOf(entry(p[3]!.id)!));
    expect(entry(p[0]!.id)).toMatchObject({ reason: 'you showed interest in it recently', source: 'revisit' });
    const categoryName = (await t.pool.query<{ name: string }>('SELECT name FROM categories WHERE category_id = $1', [p[0]!.category])).rows[0]!.name;
    expect(
      list
        .filter((r) => r.source === 'affinity')
        .every((r) => r.reason === `popular in ${categoryName}, a category you like` && r.categoryId === p[0]!.category),
    ).toBe(true);
    expect(list.some((r) => r.source === 'affinity')).toBe(true);
    for (const r of list) expect(r.reason).toMatch(/^(bought together with|viewed together with|popular in|you showed interest)/);
  });

  it('excludes what the customer bought or has in the cart, and inactive or out-of-stock products', async () => {
    const ids = (await t.recommender.recommend(1, { first: 20 })).map((r) => r.productId);
    for (const excluded of [p[1]!, p[4]!, p[5]!, p[6]!]) expect(ids).not.toContain(excluded.id);
    // …unless the product is repurchasable.
    const again = (await t.recommender.recommend(1, { first: 20, repurchasable: (id) => id === p[1]!.id })).map((r) => r.productId);
    expect(again).toContain(p[1]!.id);
    // …or of a repurchasable category (RECOMMEND_REPURCHASABLE_CATEGORIES), through the API; in-cart stays out.
    const consumables = createTestApp(t, { RECOMMEND_REPURCHASABLE_CATEGORIES: `${p[1]!.category},${p[4]!.category}` }).app;
    const served = (await gql<any, any>(consumables, '{ recommendations(customerId: 1, first: 20) { productId } }')).data.recommendations.map(
      (r: any) => r.productId,
    );
    expect(served).toContain(p[1]!.id);
    expect(served).not.toContain(p[4]!.id);
  });

  it('gives a customer without history the trending and popular products', async () => {
    const list = await t.recommender.recommend(5, { first: 5 });
    expect(list).toHaveLength(5);
    expect(list.every((r) => r.source === 'trending')).toBe(true);
    expect(list[0]!.productId).toBe(p.at(-1)!.id);
    expect(list[0]!.reason).toMatch(/this hour$/);
  });

  it('keeps some diversity across categories', async () => {
    const list = await t.recommender.recommend(5, { first: 10 });
    const perCategory = new Map<number, number>();
    for (const r of list) perCategory.set(r.categoryId, (perCategory.get(r.categoryId) ?? 0) + 1);
    expect(Math.max(...perCategory.values())).toBeLessThanOrEqual(4);
    expect(diversify([{ categoryId: 1 }, { categoryId: 1 }, { categoryId: 1 }, { categoryId: 2 }], 3, 2)).toEqual([
      { categoryId: 1 },
      { categoryId: 1 },
      { categoryId: 2 },
    ]);
    // Only one category left: the list is still filled.
    expect(diversify([{ categoryId: 1 }, { categoryId: 1 }, { categoryId: 1 }], 3, 2)).toHaveLength(3);
  });

  it('serves similar and trending products', async () => {
    const similar = await similarProducts(t.pool, p[0]!.id, 3);
    expect(similar.map((s) => s.productId)).toEqual([p[1]!.id, p[4]!.id, p[2]!.id]);
    const trending = await trendingProducts(t.pool, { window: 'HOUR', first: 2 });
    expect(trending.map((s) => s.productId)).toEqual([p.at(-1)!.id, p.at(-2)!.id]);
    const inCategory = await trendingProducts(t.pool, { window: 'ALL_TIME', categoryId: p[0]!.category, first: 50 });
    expect(inCategory.length).toBeGreaterThan(0);
    for (const s of inCategory) expect(p.find((x) => x.id === s.productId)!.category).toBe(p[0]!.category);
  });

  it('answers through GraphQL with products, and typed errors for bad input', async () => {
    const result = await gql<any, any>(
      app,
      `{ recommendations(customerId: 1, first: 3) { productId score reason product { name category { name } } }
      similarProducts(productId: ${p[0]!.id}, first: 2) { productId reason }
      trendingProducts(window: ALL_TIME, first: 2) { product { productId } } }`,
    );
    expect(result.errors).toBeUndefined();
    for (const r of result.data.recommendations) expect(r.product.name).toBe(p.find((x) => x.id === r.productId)!.name);
    expect(result.data.recommendations).toHaveLength(3);
    expect(result.data.similarProducts).toHaveLength(2);
    expect(result.data.trendingProducts[0].product.productId).toBe(p.at(-1)!.id);
    const unknown = await gql(app, '{ recommendations(customerId: 999999) { productId } }');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const tooMany = await gql(app, '{ recommendations(customerId: 1, first: 101) { productId } }');
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("serves a list from memory until the customer's inputs change: a feature write for them drops it at once", async () => {
    const ids = async (customer: number) =>
      (
        (await gql<any, any>(app, `{ recommendations(customerId: ${customer}, first: 5) { productId reason } }`)).data.recommendations as {
          productId: number;
        }[]
      ).map((r) => r.productId);
    const first = await ids(2);
    // Another customer's world changes (popularity): customer 2's cached list stays as it was within the TTL…
    await t.pool.query('UPDATE rec_product_stats SET score = score + 1000 WHERE product_id = $1', [p[7]!.id]);
    expect(await ids(2)).toEqual(first);
    // …while a list computed now (no cache) already shows it.
    expect((await t.recommender.recommend(2, { first: 5 })).map((r) => r.productId)).toContain(p[7]!.id);
    // Flink writes customer 2's interaction with A: the trigger's notification drops the cached list.
    await t.pool.query('INSERT INTO rec_customer_product VALUES (2, $1, 2, 0, 0, 0, now())', [p[0]!.id]);
    const deadline = Date.now() + 5000;
    let now = first;
    while (Date.now() < deadline && JSON.stringify(now) === JSON.stringify(first)) {
      await new Promise((r) => setTimeout(r, 50));
      now = await ids(2);
    }
    expect(now).not.toEqual(first);
    expect(now).toContain(p[2]!.id); // bought together with A
    await t.pool.query('UPDATE rec_product_stats SET score = score - 1000 WHERE product_id = $1', [p[7]!.id]);
  });

  it("pushes recommendationsUpdated when subscribing and again when the customer's inputs change", async () => {
    const server = await listen(app, '127.0.0.1', 0);
    const client = subscriptionClient(server.url);
    try {
      const updates: any[] = [];
      let failed: unknown;
      const dispose = client.subscribe(
        {
          query:
            'subscription { recommendationsUpdated(customerId: 3, first: 5) { customerId computedAt recommendations { productId reason product { name } } } }',
        },
        {
          next: (v) => updates.push(v.data?.recommendationsUpdated ?? v),
          error: (e) => (failed = e),
          complete: () => undefined,
        },
      );
      const waitFor = async (n: number) => {
        const deadline = Date.now() + 5000;
        while (updates.length < n && !failed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(failed).toBeUndefined();
        expect(updates.length).toBeGreaterThanOrEqual(n);
      };
      await waitFor(1);
      expect(updates[0].customerId).toBe(3);
      for (const r of updates[0].recommendations) expect(r.reason).toMatch(/^popular in /); // cold start
      // A write that changes nothing for customer 3 (another customer's features) pushes nothing.
      await t.pool.query('INSERT INTO rec_customer_product VALUES (4, $1, 1, 0, 0, 0, now())', [p[0]!.id]);
      // Customer 3 views A (Flink writes their features): a new list, now with A's neighbours.
      const acted = Date.now();
      await t.pool.query('INSERT INTO rec_customer_product VALUES (3, $1, 1, 0, 0, 0, now())', [p[0]!.id]);
      await t.pool.query('INSERT INTO rec_customer_category VALUES (3, $1, 1)', [p[0]!.category]);
      await waitFor(2);
      expect(Date.now() - acted).toBeLessThan(5000);
      expect(updates[1].recommendations.map((r: any) => r.reason)).toContain(`bought together with ${p[0]!.name}`);
      for (const r of updates[1].recommendations) expect(r.product.name).toBe(p.find((x) => x.id === r.productId)!.name);
      await new Promise((r) => setTimeout(r, 300));
      expect(updates).toHaveLength(2); // one action, one push
      dispose();
      // An unknown customer is a typed error.
      const error = await new Promise<any>((resolve) => {
        client.subscribe(
          { query: 'subscription { recommendationsUpdated(customerId: 999999) { customerId } }' },
          { next: (v) => resolve(v.errors?.[0] ?? v), error: resolve, complete: () => undefined },
        );
      });
      expect(error.extensions?.code ?? JSON.stringify(error)).toBe('NOT_FOUND');
    } finally {
      await client.dispose();
      await server.close();
    }
  });

  it('listens again after its connection is killed, and keeps dropping changed lists', async () => {
    const ids = async () =>
      ((await gql<any, any>(app, '{ recommendations(customerId: 6, first: 5) { productId } }')).data.recommendations as { productId: number }[]).map(
        (r) => r.productId,
      );
    const first = await ids();
    const listeners = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN rtrec_customer_inputs'";
    const [old] = (await t.pool.query<{ pid: number }>(listeners)).rows;
    expect(old).toBeDefined();
    await t.pool.query('SELECT pg_terminate_backend($1)', [old!.pid]);
    const deadline = Date.now() + 10_000;
    let listening = 0;
    while (Date.now() < deadline && listening === 0) {
      await new Promise((r) => setTimeout(r, 100));
      listening = (await t.pool.query<{ pid: number }>(listeners)).rows.filter((r) => r.pid !== old!.pid).length;
    }
    expect(listening).toBe(1);
    expect(await ids()).toEqual(first);
    await t.pool.query('INSERT INTO rec_customer_product VALUES (6, $1, 2, 0, 0, 0, now())', [p[0]!.id]);
    let now = first;
    while (Date.now() < deadline + 5000 && JSON.stringify(now) === JSON.stringify(first)) {
      await new Promise((r) => setTimeout(r, 50));
      now = await ids();
    }
    expect(now).toContain(p[2]!.id);
  });
});

describe('one recommender for the API, the simulator and the evaluation', () => {
  it("the simulator's closed loop and rtrec evaluate's ours use the served recommender, with the configured options", async () => {
    const { services, app: consumables } = createTestApp(t, { RECOMMEND_REPURCHASABLE_CATEGORIES: `${p[1]!.category}` });
    expect(services.recommender.options).toEqual({ repurchasableCategories: [p[1]!.category] });
    const served = (await gql<any, any>(consumables, '{ recommendations(customerId: 1, first: 20) { productId } }')).data.recommendations.map(
      (r: any) => r.productId,
    );
    // The evaluation's ours is the served recommender on the evaluation's pool: same options, same list.
    const onOtherPool = services.recommenderOn(t.pool);
    expect(onOtherPool.options).toEqual(services.recommender.options);
    expect((await onOtherPool.recommend(1, { first: 20 })).map((r) => r.productId)).toEqual(served);
    expect(served).toContain(p[1]!.id);
    // The simulator shows lists from the served recommender object itself.
    const recommend = vi.spyOn(services.recommender, 'recommend');
    const runId = await services.simulations.start({
      sessions: 2,
      durationMinutes: 0,
      speed: 100_000,
      concurrency: 1,
      sessionsPerDay: 1,
      recommendations: 3,
      recommender: 'ours',
      seed: 3,
    });
    await services.simulations.wait(runId);
    expect(recommend).toHaveBeenCalled();
    await services.close();
  });
});

describe('live lists', () => {
  it('never pushes an older recomputation after a newer one, when two changes come close together', async () => {
    const { services } = createTestApp(t);
    const item = (productId: number) => ({
      productId,
      name: `P${productId}`,
      categoryId: 1,
      categoryName: 'C',
      price: '1.00',
      score: 1,
      reason: 'r',
      source: 'trending' as const,
    });
    // The first recomputation reads the old inputs and finishes last; the second reads the new ones and finishes first.
    const answers: { items: ReturnType<typeof item>[]; delayMs: number }[] = [
      { items: [item(1)], delayMs: 0 },
      { items: [item(2)], delayMs: 300 },
      { items: [item(3)], delayMs: 0 },
    ];
    let call = 0;
    let olderServing: () => void = () => undefined;
    const olderStarted = new Promise<void>((resolve) => {
      olderServing = resolve;
    });
    vi.spyOn(services.experiments, 'serve').mockImplementation(async () => {
      const index = call++;
      const answer = answers[Math.min(index, answers.length - 1)]!;
      if (index === 1) olderServing();
      await new Promise((r) => setTimeout(r, answer.delayMs));
      return { items: answer.items };
    });
    const live = services.recommendations;
    const pushed: number[] = [];
    const stop = await live.watch(1, { first: 5 }, (list) => pushed.push(list[0]!.productId));
    const older = live.refreshAll();
    // The newer change comes while the older recomputation is being served.
    await olderStarted;
    await Promise.all([older, live.refreshAll()]);
    expect(pushed).toEqual([1, 3]);
    stop();
    await services.close();
  });
});
