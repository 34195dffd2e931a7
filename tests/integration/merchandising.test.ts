import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/server/http.js';
import { as, createTestApp, gql, subscriptionClient } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { simulatedShop } from '../helpers/history.js';

/*
 * Merchandising rules on a real PostgreSQL and the composition root's serving: filter, pin, boost and time windows
 * on served lists, a rule change pushed to recommendationsUpdated, and the admin-only mutations.
 */

let t: TestDatabase;
let test: ReturnType<typeof createTestApp>;
let customer: number;

beforeAll(async () => {
  t = await createTestDatabase('merch');
  await simulatedShop(t, { categories: 4, products: 40, customers: 20, seed: 3 }, { sessionsPerDay: 40, days: 3, seed: 5 });
  await t.pool.query('UPDATE products SET is_active = true, stock = greatest(stock, 5)');
  customer = (await t.pool.query<{ customer_id: number }>('SELECT customer_id FROM rec_customer_product GROUP BY 1 ORDER BY count(*) DESC LIMIT 1')).rows[0]!
    .customer_id;
  await t.pool.query('DELETE FROM carts WHERE customer_id = $1', [customer]);
  test = createTestApp(t);
});
afterAll(async () => {
  await test?.services.close();
  await t?.drop();
});

const serve = (first = 6) => test.services.experiments.serve(customer, { first }).then((s) => s.items);
const clear = async () => {
  for (const r of await test.services.merchandising.list()) await test.services.merchandising.delete(r.ruleId);
};

describe('rules on served lists', () => {
  it('filter a category out, pin a product with the reason "promoted", boost one from below the cut', async () => {
    await clear();
    const before = await serve();
    expect(before.length).toBe(6);
    const top = before[0]!;
    await test.services.merchandising.create({ name: 'no top category', action: 'filter', categoryId: top.categoryId });
    const filtered = await serve();
    expect(filtered.length).toBe(6);
    expect(filtered.some((r) => r.categoryId === top.categoryId)).toBe(false);
    await clear();

    const outside = (
      await t.pool.query<{ product_id: number }>('SELECT product_id FROM products WHERE NOT (product_id = ANY($1)) ORDER BY product_id LIMIT 1', [
        before.map((r) => r.productId),
      ])
    ).rows[0]!.product_id;
    await test.services.merchandising.create({ name: 'pin', action: 'pin', productId: outside, position: 2 });
    const pinned = await serve();
    expect(pinned[1]).toMatchObject({ productId: outside, reason: 'promoted' });
    expect(pinned.length).toBe(6);
    await clear();

    // The 10th candidate of a 10-list, boosted ×1000, comes first (a list of 6 reads 12 candidates while rules are in force).
    const longer = await serve(10);
    const low = longer[9]!;
    await test.services.merchandising.create({ name: 'boost', action: 'boost', productId: low.productId, factor: 1000 });
    const boosted = await serve();
    expect(boosted[0]).toMatchObject({ productId: low.productId, reason: 'promoted' });
    await clear();
  });

  it('does not pin a product the customer has in the cart; the recommender reports it from its own query, or from the cart when it has no rows', async () => {
    await clear();
    const before = await serve();
    const { rows } = await t.pool.query<{ product_id: number }>(
      'SELECT product_id FROM products WHERE NOT (product_id = ANY($1)) AND is_active AND stock > 0 ORDER BY product_id LIMIT 2',
      [before.map((r) => r.productId)],
    );
    const [carted, free] = rows.map((r) => r.product_id) as [number, number];
    await t.pool.query('INSERT INTO carts (customer_id, product_id, quantity) VALUES ($1, $2, 1)', [customer, carted]);
    try {
      const watched = await test.services.recommender.recommendWatching(customer, { first: 6 }, [carted, free]);
      expect(watched.items.length).toBe(6);
      expect([...watched.inCart]).toEqual([carted]);
      // A category without products: no candidate rows, so the cart is read on its own.
      const empty = (await t.pool.query<{ category_id: number }>("INSERT INTO categories (name) VALUES ('Empty shelf') RETURNING category_id")).rows[0]!
        .category_id;
      const none = await test.services.recommender.recommendWatching(customer, { first: 6, categoryId: empty }, [carted, free]);
      expect(none.items).toEqual([]);
      expect([...none.inCart]).toEqual([carted]);
      await t.pool.query('DELETE FROM categories WHERE category_id = $1', [empty]);

      await test.services.merchandising.create({ name: 'pin carted', action: 'pin', productId: carted, position: 2 });
      await test.services.merchandising.create({ name: 'pin free', action: 'pin', productId: free, position: 3 });
      const pinned = await serve();
      expect(pinned.some((r) => r.productId === carted)).toBe(false);
      expect(pinned[2]).toMatchObject({ productId: free, reason: 'promoted' });
    } finally {
      await t.pool.query('DELETE FROM carts WHERE customer_id = $1', [customer]);
      await clear();
    }
  });

  it('keeps a list full when filters remove most candidates, reading more of them while the recommender has more', async () => {
    await clear();
    // Filter every category but the one least present in the first 12 candidates: most of them go.
    const candidates = await serve(12);
    const { rows } = await t.pool.query<{ category_id: number }>('SELECT category_id FROM categories ORDER BY category_id');
    const count = (c: number) => candidates.filter((r) => r.categoryId === c).length;
    const kept = rows.map((r) => r.category_id).sort((a, b) => count(a) - count(b))[0]!;
    expect(count(kept)).toBeLessThan(6);
    for (const { category_id } of rows) {
      if (category_id !== kept) await test.services.merchandising.create({ name: `not ${category_id}`, action: 'filter', categoryId: category_id });
    }
    const filtered = await serve();
    expect(filtered.every((r) => r.categoryId === kept)).toBe(true);
    // As many as that category alone offers (the recommender restricted to it, no rules), up to 6.
    await clear();
    const alone = await test.services.recommender.recommend(customer, { first: 6, categoryId: kept });
    expect(alone.length).toBeGreaterThan(count(kept));
    expect(filtered.length).toBe(alone.length);
  });

  it('applies a rule only within its time window', async () => {
    await clear();
    const top = (await serve())[0]!;
    const hour = 3_600_000;
    await test.services.merchandising.create({ name: 'later', action: 'filter', productId: top.productId, startsAt: new Date(Date.now() + hour) });
    await test.services.merchandising.create({ name: 'over', action: 'filter', productId: top.productId, endsAt: new Date(Date.now() - hour) });
    expect((await serve())[0]!.productId).toBe(top.productId);
    await test.services.merchandising.create({
      name: 'now',
      action: 'filter',
      productId: top.productId,
      startsAt: new Date(Date.now() - hour),
      endsAt: new Date(Date.now() + hour),
    });
    expect((await serve()).some((r) => r.productId === top.productId)).toBe(false);
    await clear();
  });
});

describe('product facts', () => {
  it('follow the catalogue: a stock change reaches a stock rule within a few seconds, without a list waiting for it', async () => {
    await clear();
    const list = await serve(10);
    const target = list[5]!;
    await test.services.merchandising.create({ name: 'last pieces', action: 'boost', maxStock: 2, factor: 1000 });
    // Every listed product has stock ≥ 5 (beforeAll): nothing is boosted yet, and their facts are now in memory.
    expect((await serve(10)).some((r) => r.reason === 'promoted')).toBe(false);
    await t.pool.query('UPDATE products SET stock = 2 WHERE product_id = $1', [target.productId]);
    const deadline = Date.now() + 8000;
    let top = (await serve(10))[0]!;
    while (top.productId !== target.productId && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      top = (await serve(10))[0]!;
    }
    expect(top).toMatchObject({ productId: target.productId, reason: 'promoted' });
    await t.pool.query('UPDATE products SET stock = 50 WHERE product_id = $1', [target.productId]);
    await clear();
  });
});

describe('pushes', () => {
  it('pushes a new list to recommendationsUpdated when a rule changes (here or in another process), and again when a rule’s window opens', async () => {
    await clear();
    const server = await listen(test.app, '127.0.0.1', 0);
    const client = subscriptionClient(server.url);
    const lists: { productId: number; reason: string }[][] = [];
    let wake: () => void = () => undefined;
    const next = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no push ${n} within 10 s (got ${lists.length})`)), 10_000);
        wake = () => {
          if (lists.length >= n) {
            clearTimeout(timer);
            resolve();
          }
        };
        wake();
      });
    const dispose = client.subscribe<any>(
      { query: `subscription { recommendationsUpdated(customerId: ${customer}, first: 5) { recommendations { productId reason } } }` },
      {
        next: (v) => {
          lists.push(v.data.recommendationsUpdated.recommendations);
          wake();
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    try {
      await next(1);
      const first = lists[0]!;
      const rule = await test.services.merchandising.create({ name: 'hide first', action: 'filter', productId: first[0]!.productId });
      await next(2);
      expect(lists[1]!.some((r) => r.productId === first[0]!.productId)).toBe(false);
      await test.services.merchandising.delete(rule.ruleId);
      await next(3);
      expect(lists[2]!.map((r) => r.productId)).toEqual(first.map((r) => r.productId));
      // A pin that starts in a second: pushed when its window opens, with no change to the rules then.
      const outside = (
        await t.pool.query<{ product_id: number }>('SELECT product_id FROM products WHERE NOT (product_id = ANY($1)) ORDER BY product_id LIMIT 1', [
          first.map((r) => r.productId),
        ])
      ).rows[0]!.product_id;
      await test.services.merchandising.create({ name: 'soon', action: 'pin', productId: outside, position: 1, startsAt: new Date(Date.now() + 1500) });
      await next(4);
      expect(lists[3]![0]).toEqual({ productId: outside, reason: 'promoted' });
      // A rule another process writes (`rtrec rule`, another API process, plain SQL) is notified by the table's trigger.
      const { rows } = await t.pool.query<{ rule_id: number }>(
        "INSERT INTO merchandising_rules (name, action, product_id) VALUES ('elsewhere', 'filter', $1) RETURNING rule_id",
        [outside],
      );
      await next(5);
      expect(lists[4]!.some((r) => r.productId === outside)).toBe(false);
      await t.pool.query('DELETE FROM merchandising_rules WHERE rule_id = $1', [rows[0]!.rule_id]);
      await next(6);
      expect(lists[5]![0]).toEqual({ productId: outside, reason: 'promoted' });
    } finally {
      dispose();
      await client.dispose();
      await server.close();
      await clear();
    }
  });
});

describe('the rules’ LISTEN connection', () => {
  it('re-reads the rules when it reconnects, and tells the listeners only when they changed meanwhile', async () => {
    await clear();
    await serve();
    const listeners = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN rtrec_merchandising_rules'";
    const listenerPid = async (not?: number) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const pid = (await t.pool.query<{ pid: number }>(listeners)).rows.find((r) => r.pid !== not)?.pid;
        if (pid !== undefined) return pid;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the rules’ LISTEN connection did not (re)open within 10 s');
    };
    let calls = 0;
    const off = test.services.merchandising.onChange(() => calls++);
    try {
      // Nothing changed while it was down: no listener runs (a reconnect must not drop every cached list).
      const first = await listenerPid();
      await t.pool.query('SELECT pg_terminate_backend($1)', [first]);
      const second = await listenerPid(first);
      await new Promise((r) => setTimeout(r, 500));
      expect(calls).toBe(0);

      // A rule written without its trigger (so never notified) while the connection is down: found on reconnect.
      const product = (await serve())[0]!.productId;
      const admin = await t.pool.connect();
      try {
        await admin.query('BEGIN');
        await admin.query('SET LOCAL session_replication_role = replica');
        await admin.query("INSERT INTO merchandising_rules (name, action, product_id) VALUES ('unnotified', 'filter', $1)", [product]);
        await admin.query('COMMIT');
      } finally {
        admin.release();
      }
      await t.pool.query('SELECT pg_terminate_backend($1)', [second]);
      await listenerPid(second);
      const deadline = Date.now() + 5000;
      while (calls === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(calls).toBe(1);
      expect((await serve()).some((r) => r.productId === product)).toBe(false);
    } finally {
      off();
      await clear();
    }
  });
});

describe('GraphQL', () => {
  const CREATE = `mutation($input: MerchandisingRuleInput!) { createMerchandisingRule(input: $input) { id action productId factor active } }`;

  it('creates, lists, updates and deletes rules (admin), with typed errors that name the field', async () => {
    const product = (await t.db.product.findFirstOrThrow()).productId;
    const created = await gql<any, any>(test.app, CREATE, { input: { name: 'boost it', action: 'boost', productId: product, factor: 2 } });
    expect(created.errors).toBeUndefined();
    expect(created.data.createMerchandisingRule).toMatchObject({ action: 'boost', productId: product, factor: 2, active: true });
    const id = created.data.createMerchandisingRule.id;
    const updated = await gql<any, any>(
      test.app,
      `mutation { updateMerchandisingRule(id: ${id}, input: { name: "bury it", action: bury, productId: ${product}, factor: 0.5, startsAt: "2099-01-01T00:00:00Z" }) { action factor active } }`,
    );
    expect(updated.data.updateMerchandisingRule).toEqual({ action: 'bury', factor: 0.5, active: false });
    const listed = await gql<any, any>(test.app, '{ merchandisingRules { id name } }');
    expect(listed.data.merchandisingRules).toContainEqual({ id, name: 'bury it' });
    const bad = await gql<any, any>(test.app, CREATE, { input: { name: 'bad', action: 'boost', productId: product, factor: 0.5 } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'factor' });
    const missing = await gql<any, any>(test.app, CREATE, { input: { name: 'gone', action: 'filter', productId: 987_654 } });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'productId' });
    const deleted = await gql<any, any>(test.app, `mutation { deleteMerchandisingRule(id: ${id}) { id } }`);
    expect(deleted.data.deleteMerchandisingRule.id).toBe(id);
    expect((await gql<any, any>(test.app, `mutation { deleteMerchandisingRule(id: ${id}) { id } }`)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('lets only the admin change rules, and staff read them', async () => {
    const input = { name: 'nope', action: 'filter', categoryId: 1 };
    for (const role of ['service', 'analyst', 'customer', 'anonymous'] as const) {
      const headers = await as(role, role === 'customer' ? customer : undefined);
      const expected = role === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN';
      expect((await gql<any, any>(test.app, CREATE, { input }, headers)).errors?.[0]?.extensions?.code, role).toBe(expected);
      expect((await gql<any, any>(test.app, 'mutation { deleteMerchandisingRule(id: 1) { id } }', undefined, headers)).errors?.[0]?.extensions?.code).toBe(
        expected,
      );
      const read = await gql<any, any>(test.app, '{ merchandisingRules { id } }', undefined, headers);
      expect(read.errors?.[0]?.extensions?.code ?? 'ok', role).toBe(role === 'analyst' ? 'ok' : expected);
    }
    expect(await t.db.merchandisingRule.count({ where: { name: 'nope' } })).toBe(0);
  });
});
