import type pg from 'pg';

/** Exact row counts of the given tables, in one round trip. */
export async function countRows<T extends string>(pool: pg.Pool, tables: readonly T[]): Promise<Record<T, number>> {
  const { rows } = await pool.query<Record<string, string>>(`SELECT ${tables.map((t) => `(SELECT count(*) FROM "${t}") AS "${t}"`).join(', ')}`);
  return Object.fromEntries(tables.map((t) => [t, Number(rows[0]![t])])) as Record<T, number>;
}
