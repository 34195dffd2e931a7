import { type Faker, fakerEN_US } from '@faker-js/faker';
import type pg from 'pg';
import { createRng, type Rng } from '../common/random.js';
import { bulkInsert, reserveIds } from '../database/bulk.js';
import { FLINK_WRITE_TABLES } from '../database/privileges.js';
import { inTransaction } from '../database/transaction.js';
import { AppError } from '../errors.js';
import { hashPassword, SYNTHETIC_COST } from '../security/password.js';
import { categoryDescription, DEPARTMENTS, departmentOf, productText } from './catalogue.js';

export interface GenerateOptions {
  categories: number;
  products: number;
  customers: number;
  seed?: number;
}

import { GENERATE_LIMITS } from './limits.js';

export interface GenerateResult {
  categories: number;
  products: number;
  customers: number;
  /** Ids of the customers added. */
  customerIds: number[];
  elapsedMs: number;
}

export type Progress = (phase: string, done: number, total: number) => void;

/** Validates counts; the message names the flag and the allowed range. */
export function validateGenerateOptions(options: GenerateOptions): void {
  for (const key of ['categories', 'products', 'customers'] as const) {
    const value = options[key];
    if (!Number.isInteger(value) || value < 0 || value > GENERATE_LIMITS[key]) {
      throw new AppError('BAD_USER_INPUT', `${key} must be an integer from 0 to ${GENERATE_LIMITS[key]}, got ${value}.`, { field: key });
    }
  }
  if (options.products > 0 && options.categories === 0) {
    // Products can join existing categories; the check that some exist happens inside the transaction.
  }
  if (options.seed !== undefined && (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 2 ** 31)) {
    throw new AppError('BAD_USER_INPUT', `seed must be a non-negative integer, got ${options.seed}.`, { field: 'seed' });
  }
}

function ascii(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[^\w.-]/g, '')
    .toLowerCase();
}

/** Zipf-like popularity: a few products draw most of the attention, as in real shops. */
function zipfWeights(n: number, rng: Rng, exponent = 1.1): number[] {
  const ranks = rng.shuffle(Array.from({ length: n }, (_, i) => i + 1));
  return ranks.map((r) => 1 / r ** exponent);
}

/** Shelf prices end in .99 (never below 0.99). */
function roundPrice(value: number): string {
  return (Math.max(1, Math.round(value)) - 0.01).toFixed(2);
}

/**
 * Adds categories, products and customers (with their hidden tastes and product traits) in one
 * transaction. Running it again adds more rows: ids come from the sequences and names are made unique.
 */
export async function generateData(pool: pg.Pool, options: GenerateOptions, progress: Progress = () => undefined): Promise<GenerateResult> {
  validateGenerateOptions(options);
  const started = performance.now();
  return inTransaction(pool, async (client) => {
    await client.query('LOCK TABLE categories, products, customers IN SHARE ROW EXCLUSIVE MODE');
    const existing = await client.query<{ c: string; p: string; u: string }>(
      'SELECT (SELECT count(*) FROM categories) c, (SELECT count(*) FROM products) p, (SELECT count(*) FROM customers) u',
    );
    const offset = Number(existing.rows[0]!.c) * 7 + Number(existing.rows[0]!.p) * 3 + Number(existing.rows[0]!.u);
    // Same seed on the same starting data → same rows; a second run starts from a different offset.
    const seed = (options.seed ?? Math.floor(Math.random() * 2 ** 31)) + offset;
    const rng = createRng(seed);
    const faker: Faker = fakerEN_US;
    faker.seed(seed);
    const now = new Date();

    // Categories
    const taken = new Set((await client.query<{ name: string }>('SELECT name FROM categories')).rows.map((r) => r.name));
    const catIds = await reserveIds(client, 'categories', 'category_id', options.categories);
    const newCats: { id: number; name: string; level: number; partner?: string }[] = [];
    for (let i = 0; i < options.categories; i++) {
      const free = DEPARTMENTS.filter((d) => !taken.has(d.name));
      const dept = free.length ? free[0]! : { ...rng.pick(DEPARTMENTS), name: '' };
      let name = dept.name;
      for (let n = 2; !name || taken.has(name); n++) name = `${rng.pick(DEPARTMENTS).name} ${n}`;
      taken.add(name);
      newCats.push({ id: catIds[i]!, name, level: dept.priceLevel, partner: dept.partner });
    }
    await bulkInsert(
      client,
      'categories',
      [
        { name: 'category_id', type: 'int4' },
        { name: 'name', type: 'text' },
        { name: 'description', type: 'text' },
        { name: 'created_at', type: 'timestamptz' },
      ],
      newCats.map((c) => {
        const department = departmentOf(c.name);
        return [c.id, c.name, department ? categoryDescription(department) : `${c.name}: ${faker.commerce.productDescription()}`, now];
      }),
    );
    progress('categories', options.categories, options.categories);

    const allCats = (await client.query<{ category_id: number; name: string }>('SELECT category_id, name FROM categories ORDER BY category_id')).rows;
    if (options.products > 0 && allCats.length === 0) {
      throw new AppError('BAD_USER_INPUT', 'Products need at least one category: pass --categories 1 or more.', { field: 'categories' });
    }
    const levelOf = (name: string) => departmentOf(name)?.priceLevel ?? 40;
    // Names and descriptions in the words of the product's department, from a stream of their own (the rest of
    // the data stays as the seed made it).
    const words = rng.fork('product-words');
    const catWeights = zipfWeights(allCats.length, rng, 0.7);

    // Products, skewed across categories
    const productIds = await reserveIds(client, 'products', 'product_id', options.products);
    const productRows: unknown[][] = [];
    const newProducts: { id: number; categoryId: number }[] = [];
    for (let i = 0; i < options.products; i++) {
      const cat = allCats[rng.weightedIndex(catWeights)]!;
      const id = productIds[i]!;
      const price = levelOf(cat.name) * Math.exp(rng.normal(0, 0.55));
      const prefix = ascii(cat.name)
        .replace(/[^a-z]/g, '')
        .slice(0, 3)
        .toUpperCase()
        .padEnd(3, 'X');
      const department = departmentOf(cat.name);
      const text = department ? productText(department, words) : { name: faker.commerce.productName(), description: faker.commerce.productDescription() };
      productRows.push([
        id,
        `${prefix}-${String(id).padStart(7, '0')}`,
        text.name,
        text.description,
        roundPrice(price),
        rng.int(20, 400),
        cat.category_id,
        rng.chance(0.97),
        now,
        now,
      ]);
      newProducts.push({ id, categoryId: cat.category_id });
      if (i % 5000 === 0) progress('products', i, options.products);
    }
    await bulkInsert(
      client,
      'products',
      [
        { name: 'product_id', type: 'int4' },
        { name: 'sku', type: 'text' },
        { name: 'name', type: 'text' },
        { name: 'description', type: 'text' },
        { name: 'price', type: 'numeric' },
        { name: 'stock', type: 'int4' },
        { name: 'category_id', type: 'int4' },
        { name: 'is_active', type: 'bool' },
        { name: 'created_at', type: 'timestamptz' },
        { name: 'updated_at', type: 'timestamptz' },
      ],
      productRows,
    );
    progress('products', options.products, options.products);

    // Product traits: popularity and complements (from the same or the partner category)
    const byCategory = new Map<number, number[]>();
    for (const row of (await client.query<{ product_id: number; category_id: number }>('SELECT product_id, category_id FROM products')).rows) {
      byCategory.set(row.category_id, [...(byCategory.get(row.category_id) ?? []), row.product_id]);
    }
    const catIdByName = new Map(allCats.map((c) => [c.name, c.category_id]));
    const partnerOf = (categoryId: number) => {
      const name = allCats.find((c) => c.category_id === categoryId)?.name ?? '';
      const partner = DEPARTMENTS.find((d) => d.name === name)?.partner;
      return partner ? catIdByName.get(partner) : undefined;
    };
    const popularity = zipfWeights(newProducts.length, rng);
    const traitRows = newProducts.map((p, i) => {
      const pool = [...(byCategory.get(p.categoryId) ?? []), ...(byCategory.get(partnerOf(p.categoryId) ?? -1) ?? [])].filter((id) => id !== p.id);
      const complements = new Set<number>();
      for (let k = rng.int(1, 3); k > 0 && pool.length; k--) complements.add(rng.pick(pool));
      return [p.id, popularity[i]!, `{${[...complements].join(',')}}`];
    });
    await bulkInsert(
      client,
      'sim_product_traits',
      [
        { name: 'product_id', type: 'int4' },
        { name: 'popularity', type: 'float8' },
        { name: 'complements', type: 'text', cast: 'int4[]' },
      ],
      traitRows,
    );

    // Customers with hidden tastes
    const customerIds = await reserveIds(client, 'customers', 'customer_id', options.customers);
    const customerRows: unknown[][] = [];
    const tasteRows: unknown[][] = [];
    const activeProducts = [...byCategory.entries()];
    for (let i = 0; i < options.customers; i++) {
      const id = customerIds[i]!;
      const first = faker.person.firstName();
      const last = faker.person.lastName();
      const email = `${ascii(first)}.${ascii(last)}.${id}@${faker.internet.domainName()}`;
      const address = `${faker.location.streetAddress()}, ${faker.location.city()}, ${faker.location.state({ abbreviated: true })} ${faker.location.zipCode('#####')}, United States`;
      const passwordHash = await hashPassword(faker.internet.password({ length: 16 }), SYNTHETIC_COST);
      customerRows.push([id, first, last, email, passwordHash, address, faker.phone.number({ style: 'national' }), now, now]);
      const favourites = new Set<number>();
      for (let k = rng.int(1, 3); k > 0 && allCats.length; k--) favourites.add(allCats[rng.weightedIndex(catWeights)]!.category_id);
      const weights: Record<string, number> = {};
      const share = 0.85;
      const raw = [...favourites].map(() => rng.exponential(1) + 0.2);
      const sum = raw.reduce((a, b) => a + b, 0);
      for (const [k, c] of [...favourites].entries()) weights[c] = (share * raw[k]!) / sum;
      const others = allCats.filter((c) => !favourites.has(c.category_id));
      for (const c of others) weights[c.category_id] = (1 - share) / Math.max(1, others.length);
      if (others.length === 0) for (const c of favourites) weights[c] = weights[c]! / share;
      const favProducts = new Set<number>();
      for (const c of favourites) {
        const list = activeProducts.find(([cid]) => cid === c)?.[1] ?? [];
        for (let k = rng.int(1, 3); k > 0 && list.length; k--) favProducts.add(rng.pick(list));
      }
      tasteRows.push([
        id,
        JSON.stringify(weights),
        Math.min(1, Math.max(0, rng.normal(0.5, 0.25))),
        `{${[...favProducts].join(',')}}`,
        Math.max(3, rng.normal(12, 4)),
      ]);
      if (i % 1000 === 0) progress('customers', i, options.customers);
    }
    await bulkInsert(
      client,
      'customers',
      [
        { name: 'customer_id', type: 'int4' },
        { name: 'first_name', type: 'text' },
        { name: 'last_name', type: 'text' },
        { name: 'email', type: 'text' },
        { name: 'password_hash', type: 'text' },
        { name: 'address', type: 'text' },
        { name: 'phone_number', type: 'text' },
        { name: 'created_at', type: 'timestamptz' },
        { name: 'updated_at', type: 'timestamptz' },
      ],
      customerRows,
    );
    await bulkInsert(
      client,
      'sim_customer_tastes',
      [
        { name: 'customer_id', type: 'int4' },
        { name: 'category_weights', type: 'jsonb' },
        { name: 'price_sensitivity', type: 'float8' },
        { name: 'favorite_products', type: 'text', cast: 'int4[]' },
        { name: 'activity', type: 'float8' },
      ],
      tasteRows,
    );
    progress('customers', options.customers, options.customers);
    return {
      categories: options.categories,
      products: options.products,
      customers: options.customers,
      customerIds,
      elapsedMs: performance.now() - started,
    };
  });
}

/**
 * Tables written by customer activity (the simulator's and the log importer's output), children first.
 * import_rows says which log rows are in the shop, so it goes with the activity; import_keys maps log keys
 * to customers, products and categories, so it goes with them.
 */
export const DYNAMIC_TABLES = [
  'behavior_events',
  'order_items',
  'order_requests',
  'orders',
  'payments',
  'shipments',
  'carts',
  'wishlists',
  'simulation_runs',
  'import_rows',
] as const;
export const STATIC_TABLES = ['sim_customer_tastes', 'sim_product_traits', 'import_keys', 'customers', 'products', 'categories'] as const;
/**
 * Tables derived from the shop's history: the Flink jobs' results and features, and the models `rtrec train`
 * fitted on them. Emptied with any reset, so nothing describes rows that are gone.
 */
export const DERIVED_TABLES: readonly string[] = [...FLINK_WRITE_TABLES, 'rec_model_neighbours', 'rec_ranker'];

/**
 * Deletes activity only (scope 'activity') or everything (scope 'all'), and the derived tables with it,
 * atomically. Only the database: src/app/reset.ts resets the Kafka topics and the Flink jobs around it.
 */
export async function clearData(pool: pg.Pool, scope: 'activity' | 'all'): Promise<Record<string, number>> {
  const tables = [...(scope === 'all' ? [...DYNAMIC_TABLES, ...STATIC_TABLES] : DYNAMIC_TABLES), ...DERIVED_TABLES];
  return inTransaction(pool, async (client) => {
    const counts: Record<string, number> = {};
    for (const t of tables) counts[t] = Number((await client.query<{ n: string }>(`SELECT count(*) n FROM "${t}"`)).rows[0]!.n);
    await client.query(`TRUNCATE ${tables.map((t) => `"${t}"`).join(', ')}`);
    return counts;
  });
}
