import type pg from 'pg';

/** Row counts of the catalogue tables, to decide whether the demo needs data. */
export async function countRows(pool: pg.Pool): Promise<{ categories: number; products: number; customers: number }> {
  const { rows } = await pool.query<{ categories: string; products: string; customers: string }>(
    'SELECT (SELECT count(*) FROM categories) categories, (SELECT count(*) FROM products) products, (SELECT count(*) FROM customers) customers',
  );
  const r = rows[0]!;
  return { categories: Number(r.categories), products: Number(r.products), customers: Number(r.customers) };
}
