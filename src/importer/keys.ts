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

/**
 * Ids the keys of `kind` already map to. A key whose row is gone (the shop was cleared with
 * `generate --clear` or by hand) counts as unmapped and is created again.
 */
async function mapped(client: pg.PoolClient, source: string, kind: Kind, keys: string[]): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const target = { customer: ['customers', 'customer_id'], product: ['products', 'product_id'], category: ['categories', 'category_id'] }[kind];
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
 * Finds or creates the customers, categories and products for the keys a plan meets, with ids from the
 * sequences and COPY (one round trip per table), inside the caller's transaction.
 */
export async function resolveKeys(client: pg.PoolClient, source: string, plan: ImportPlan): Promise<ResolvedKeys> {
  const created = { customers: 0, categories: 0, products: 0, import_keys: 0 };

  const users = [...plan.users];
  const customers = await mapped(client, source, 'customer', users);
  const newUsers = users.filter((u) => !customers.has(u));
  const customerIds = await reserveIds(client, 'customers', 'customer_id', newUsers.length);
  for (const [i, u] of newUsers.entries()) customers.set(u, customerIds[i]!);
  created.customers = await copyRows(
    client,
    'customers',
    ['customer_id', 'first_name', 'last_name', 'email', 'password_hash'],
    newUsers.map((u, i) => {
      const p = customerPlaceholder(source, u);
      return [customerIds[i], p.firstName, p.lastName, p.email, NO_PASSWORD];
    }),
  );
  created.import_keys += await recordKeys(
    client,
    source,
    'customer',
    newUsers.map((u, i) => [u, customerIds[i]!]),
  );

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
  const categoryIds = await reserveIds(client, 'categories', 'category_id', newCategories.length);
  for (const [i, c] of newCategories.entries()) categories.set(c, categoryIds[i]!);
  created.categories = await copyRows(
    client,
    'categories',
    ['category_id', 'name', 'description'],
    newCategories.map((c, i) => {
      const p = categoryPlaceholder(source, c === '' ? null : c);
      return [categoryIds[i], p.name, p.description];
    }),
  );
  created.import_keys += await recordKeys(
    client,
    source,
    'category',
    newCategories.map((c, i) => [c, categoryIds[i]!]),
  );

  const ids = await reserveIds(client, 'products', 'product_id', newItems.length);
  const productRows = newItems.map((key, i) => {
    const info = plan.items.get(key)!;
    const ref = { productId: ids[i]!, categoryId: categories.get(info.category ?? '')!, priceCents: info.priceCents ?? PLACEHOLDER_PRICE_CENTS };
    products.set(key, ref);
    const p = productPlaceholder(source, ref.productId, key, info.name);
    return [ref.productId, p.sku, p.name, p.description, fromCents(ref.priceCents), IMPORTED_STOCK, ref.categoryId];
  });
  created.products = await copyRows(client, 'products', ['product_id', 'sku', 'name', 'description', 'price', 'stock', 'category_id'], productRows);
  created.import_keys += await recordKeys(
    client,
    source,
    'product',
    newItems.map((k, i) => [k, ids[i]!]),
  );

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
