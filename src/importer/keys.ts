import type pg from 'pg';
import { fromCents, toCents } from '../common/money.js';
import { copyRows, reserveIds } from '../database/bulk.js';
import { categoryPlaceholder, customerPlaceholder, IMPORTED_STOCK, NO_PASSWORD, PLACEHOLDER_PRICE_CENTS, productPlaceholder } from './placeholders.js';
import type { ImportPlan } from './plan.js';

/** A shop product as the importer needs it. */
export interface ProductRef {
  productId: number;
  categoryId: number;
  priceCents: number;
}

/** The shop ids of the plan's users and items, and how many customers, categories and products were created. */
export interface ResolvedKeys {
  customers: Map<string, number>;
  products: Map<string, ProductRef>;
  created: { customers: number; categories: number; products: number; import_keys: number };
}

type Kind = 'customer' | 'product' | 'category';
/** The shop table and id column each kind of key maps to. */
const TABLE_OF: Record<Kind, [table: string, idColumn: string]> = {
  customer: ['customers', 'customer_id'],
  product: ['products', 'product_id'],
  category: ['categories', 'category_id'],
};

/**
 * Ids the keys of `kind` already map to. A key whose row is gone (the shop was cleared with
 * `generate --clear` or by hand) counts as unmapped and is created again.
 */
async function mapped(client: pg.PoolClient, source: string, kind: Kind, keys: string[]): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const target = TABLE_OF[kind];
  const { rows } = await client.query<{ key: string; id: number }>(
    `SELECT k.key, k.id FROM import_keys k JOIN "${target[0]}" t ON t."${target[1]}" = k.id WHERE k.source = $1 AND k.kind = $2 AND k.key = ANY($3::text[])`,
    [source, kind, keys],
  );
  return new Map(rows.map((r) => [r.key, r.id]));
}

/** Records new key → id pairs; a key that pointed at a deleted row is re-pointed. */
async function recordKeys(client: pg.PoolClient, source: string, kind: string, pairs: [string, number][]): Promise<number> {
  if (pairs.length === 0) return 0;
  await client.query(
    `INSERT INTO import_keys (source, kind, key, id) SELECT $1, $2, k, i FROM unnest($3::text[], $4::int4[]) AS u(k, i)
     ON CONFLICT (source, kind, key) DO UPDATE SET id = excluded.id, created_at = now()`,
    [source, kind, pairs.map(([k]) => k), pairs.map(([, id]) => id)],
  );
  return pairs.length;
}

/**
 * Shop rows for log keys that have none yet: ids reserved from the table's sequence, one COPY of `row(key, id)`
 * (the columns after the id), and the keys' mappings. Returns the ids (in the keys' order) and what was written.
 */
async function createForKeys(
  client: pg.PoolClient,
  source: string,
  kind: Kind,
  keys: string[],
  columns: string[],
  row: (key: string, id: number) => unknown[],
): Promise<{ ids: number[]; rows: number; keys: number }> {
  const [table, idColumn] = TABLE_OF[kind];
  const ids = await reserveIds(client, table, idColumn, keys.length);
  const rows = await copyRows(
    client,
    table,
    [idColumn, ...columns],
    keys.map((key, i) => [ids[i], ...row(key, ids[i]!)]),
  );
  const recorded = await recordKeys(
    client,
    source,
    kind,
    keys.map((key, i) => [key, ids[i]!]),
  );
  return { ids, rows, keys: recorded };
}

/**
 * Finds or creates the customers, categories and products for the keys a plan meets, with ids from the
 * sequences and COPY (one round trip per table), inside the caller's transaction.
 */
export async function resolveKeys(client: pg.PoolClient, source: string, plan: ImportPlan): Promise<ResolvedKeys> {
  const created = { customers: 0, categories: 0, products: 0, import_keys: 0 };

  const users = [...plan.users];
  const customers = await mapped(client, source, 'customer', users);
  const newUsers = users.filter((u) => !customers.has(u));
  const newCustomers = await createForKeys(client, source, 'customer', newUsers, ['first_name', 'last_name', 'email', 'password_hash'], (u, id) => {
    customers.set(u, id);
    const p = customerPlaceholder(source, u);
    return [p.firstName, p.lastName, p.email, NO_PASSWORD];
  });
  created.customers = newCustomers.rows;
  created.import_keys += newCustomers.keys;

  const itemKeys = [...plan.items.keys()];
  const productIds = await mapped(client, source, 'product', itemKeys);
  const products = new Map<string, ProductRef>();
  if (productIds.size) {
    const { rows } = await client.query<{ product_id: number; category_id: number; price: string }>(
      'SELECT product_id, category_id, price::text FROM products WHERE product_id = ANY($1::int4[])',
      [[...productIds.values()]],
    );
    const byId = new Map(rows.map((r) => [r.product_id, { productId: r.product_id, categoryId: r.category_id, priceCents: toCents(r.price) }]));
    for (const [key, id] of productIds) products.set(key, byId.get(id)!);
  }
  const newItems = itemKeys.filter((k) => !products.has(k));

  // Category keys are the log's values; "" stands for the source's placeholder category.
  const categoryKeys = [...new Set(newItems.map((k) => plan.items.get(k)!.category ?? ''))];
  const categories = await mapped(client, source, 'category', categoryKeys);
  const newCategories = categoryKeys.filter((c) => !categories.has(c));
  const newCategoryRows = await createForKeys(client, source, 'category', newCategories, ['name', 'description'], (c, id) => {
    categories.set(c, id);
    const p = categoryPlaceholder(source, c === '' ? null : c);
    return [p.name, p.description];
  });
  created.categories = newCategoryRows.rows;
  created.import_keys += newCategoryRows.keys;

  const newProducts = await createForKeys(client, source, 'product', newItems, ['sku', 'name', 'description', 'price', 'stock', 'category_id'], (key, id) => {
    const info = plan.items.get(key)!;
    const ref = { productId: id, categoryId: categories.get(info.category ?? '')!, priceCents: info.priceCents ?? PLACEHOLDER_PRICE_CENTS };
    products.set(key, ref);
    const p = productPlaceholder(source, ref.productId, key, info.name);
    return [p.sku, p.name, p.description, fromCents(ref.priceCents), IMPORTED_STOCK, ref.categoryId];
  });
  created.products = newProducts.rows;
  created.import_keys += newProducts.keys;

  return { customers, products, created };
}

/** Serialises imports of one source, so two runs never both decide that the same rows are new. */
export async function lockSource(client: pg.PoolClient, source: string): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock(hashtext('rtrec-import:' || $1))", [source]);
}

/** The fingerprints among `fingerprints` that an earlier import of the source has written. */
export async function knownFingerprints(client: pg.PoolClient | pg.Pool, source: string, fingerprints: string[]): Promise<Set<string>> {
  if (fingerprints.length === 0) return new Set();
  const { rows } = await client.query<{ fingerprint: string }>(
    'SELECT fingerprint::text FROM import_rows WHERE source = $1 AND fingerprint = ANY($2::uuid[])',
    [source, fingerprints],
  );
  return new Set(rows.map((r) => r.fingerprint));
}
