import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetShopData } from '../../src/app/reset.js';
import { loadConfig } from '../../src/config/env.js';
import { departmentOf } from '../../src/datagen/catalogue.js';
import { clearData, generateData } from '../../src/datagen/generate.js';
import { AppError } from '../../src/errors.js';
import type { JobManager } from '../../src/flink/jobs.js';
import { createLogger } from '../../src/logging/logger.js';
import { verifyPassword } from '../../src/security/password.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('gen');
});
afterAll(() => t.drop());

const count = async (table: string) => Number((await t.pool.query(`SELECT count(*) n FROM ${table}`)).rows[0].n);

describe('data generator', () => {
  it("creates the seed's default 15 categories, 200 products and 100 customers", async () => {
    const result = await generateData(t.pool, { categories: 15, products: 200, customers: 100, seed: 1 });
    expect(result).toMatchObject({ categories: 15, products: 200, customers: 100 });
    expect([await count('categories'), await count('products'), await count('customers')]).toEqual([15, 200, 100]);
    expect(await count('sim_customer_tastes')).toBe(100);
    expect(await count('sim_product_traits')).toBe(200);
  });

  it('adds more rows with unique SKUs and emails when run again', async () => {
    await generateData(t.pool, { categories: 3, products: 50, customers: 30, seed: 1 });
    expect([await count('categories'), await count('products'), await count('customers')]).toEqual([18, 250, 130]);
    const dupes = await t.pool.query(
      `SELECT (SELECT count(*) - count(DISTINCT sku) FROM products) s, (SELECT count(*) - count(DISTINCT email) FROM customers) e`,
    );
    expect(dupes.rows[0]).toEqual({ s: '0', e: '0' });
  });

  it("names and describes every product in its department's words (no soap among the shoes)", async () => {
    const { rows } = await t.pool.query<{ name: string; description: string; category: string }>(
      'SELECT p.name, p.description, c.name AS category FROM products p JOIN categories c USING (category_id)',
    );
    expect(rows.length).toBe(250);
    for (const row of rows) {
      const department = departmentOf(row.category)!;
      expect(department, row.category).toBeDefined();
      expect(
        department.items.some((item) => row.name.endsWith(` ${item}`)),
        `${row.name} in ${row.category}`,
      ).toBe(true);
      expect(row.description).toContain(`Part of our ${department.name} range`);
    }
    expect(departmentOf('Electronics Accessories')!.priceLevel).toBe(25);
    expect(departmentOf('Books 2')!.name).toBe('Books');
  });

  it('stores only salted password hashes that verify, never plain passwords', async () => {
    const { rows } = await t.pool.query<{ password_hash: string }>('SELECT password_hash FROM customers');
    expect(rows.every((r) => r.password_hash.startsWith('scrypt$'))).toBe(true);
    expect(new Set(rows.map((r) => r.password_hash.split('$')[4])).size).toBe(rows.length);
    expect(await verifyPassword('guess', rows[0]!.password_hash)).toBe(false);
  });

  it('skews popularity: the top tenth of products carries most of the weight', async () => {
    const { rows } = await t.pool.query<{ popularity: number }>('SELECT popularity FROM sim_product_traits ORDER BY popularity DESC');
    const total = rows.reduce((s, r) => s + r.popularity, 0);
    const top = rows.slice(0, Math.ceil(rows.length / 10)).reduce((s, r) => s + r.popularity, 0);
    expect(top / total).toBeGreaterThan(0.4);
  });

  it('gives every customer hidden tastes that sum to one over categories', async () => {
    const { rows } = await t.pool.query<{ category_weights: Record<string, number>; price_sensitivity: number }>(
      'SELECT category_weights, price_sensitivity FROM sim_customer_tastes',
    );
    for (const r of rows) {
      const sum = Object.values(r.category_weights).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
      expect(r.price_sensitivity).toBeGreaterThanOrEqual(0);
      expect(r.price_sensitivity).toBeLessThanOrEqual(1);
    }
  });

  it('produces the same rows for the same seed on the same starting data', async () => {
    const other = await createTestDatabase('gen2');
    const third = await createTestDatabase('gen3');
    try {
      await generateData(other.pool, { categories: 4, products: 30, customers: 20, seed: 99 });
      await generateData(third.pool, { categories: 4, products: 30, customers: 20, seed: 99 });
      const snapshot = async (p: TestDatabase) => ({
        products: (await p.pool.query('SELECT product_id, sku, name, price::text, stock, category_id, is_active FROM products ORDER BY product_id')).rows,
        customers: (await p.pool.query('SELECT customer_id, first_name, last_name, email, address FROM customers ORDER BY customer_id')).rows,
        tastes: (await p.pool.query('SELECT * FROM sim_customer_tastes ORDER BY customer_id')).rows,
      });
      expect(await snapshot(third)).toEqual(await snapshot(other));
    } finally {
      await other.drop();
      await third.drop();
    }
  });

  it('rejects negative or absurd counts before writing anything', async () => {
    const before = await count('products');
    await expect(generateData(t.pool, { categories: -1, products: 5, customers: 5 })).rejects.toThrow(/categories must be an integer from 0/);
    await expect(generateData(t.pool, { categories: 1, products: 10_000_000, customers: 5 })).rejects.toBeInstanceOf(AppError);
    expect(await count('products')).toBe(before);
  });

  it('writes nothing when it fails half-way (one transaction)', async () => {
    const empty = await createTestDatabase('gen4');
    try {
      await expect(generateData(empty.pool, { categories: 0, products: 10, customers: 10 })).rejects.toThrow(/at least one category/);
      const n = await empty.pool.query('SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM customers) AS n');
      expect(n.rows[0].n).toBe('0');
    } finally {
      await empty.drop();
    }
  });

  it('clears everything with --clear', async () => {
    const deleted = await clearData(t.pool, 'all');
    expect(deleted.customers).toBe(130);
    expect(await count('customers')).toBe(0);
    expect(await count('categories')).toBe(0);
  });

  it("a reset of a database that is not captured leaves Kafka's topics and Flink's jobs alone (they belong to another database)", async () => {
    await generateData(t.pool, { categories: 2, products: 5, customers: 3, seed: 2 });
    await t.pool.query(
      "INSERT INTO behavior_events (customer_id, session_id, event_type, product_id) SELECT min(customer_id), gen_random_uuid(), 'view_product', min(product_id) FROM customers, products",
    );
    // A developer's stack at the configured addresses must not lose its jobs or its topics when the tests
    // reset their databases: the reset may not even look at them.
    const touched: string[] = [];
    const jobs = new Proxy({} as JobManager, {
      get: (_, name) => () => {
        touched.push(String(name));
        throw new Error(`the reset called jobs.${String(name)}`);
      },
    });
    const config = loadConfig({ LOG_LEVEL: 'silent', KAFKA_BROKERS: '127.0.0.1:1', FLINK_REST_URL: 'http://127.0.0.1:1' });
    const report = await resetShopData({ config, logger: createLogger('silent'), pool: t.pool, jobs }, 'activity');
    expect(touched).toEqual([]);
    expect(report).toMatchObject({ captured: false, topics: [], restartedJobs: [] });
    expect(report.deleted.behavior_events).toBe(1);
    expect(await count('behavior_events')).toBe(0);
    expect([await count('customers'), await count('products')]).toEqual([3, 5]);
  });
});
