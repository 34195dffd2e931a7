import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export interface BulkColumn {
  name: string;
  /** Postgres array element type used in the unnest cast, e.g. 'int4', 'text', 'numeric', 'timestamptz'. */
  type: string;
  /** Cast applied after unnest, for array-valued columns passed as text literals (e.g. 'int4[]'). */
  cast?: string;
}

/**
 * Inserts many rows with one `INSERT ... SELECT FROM unnest(...)` per chunk: a single round trip and a
 * single plan per chunk, an order of magnitude faster than row-by-row inserts.
 */
export async function bulkInsert(
  client: pg.PoolClient | pg.Client,
  table: string,
  columns: BulkColumn[],
  rows: unknown[][],
  chunkSize = 10_000,
): Promise<number> {
  for (let start = 0; start < rows.length; start += chunkSize) {
    const chunk = rows.slice(start, start + chunkSize);
    const arrays = columns.map((_, c) => chunk.map((row) => row[c] ?? null));
    const list = columns.map((c) => `"${c.name}"`).join(', ');
    const unnest = columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
    const select = columns.map((c, i) => (c.cast ? `c${i}::${c.cast}` : `c${i}`)).join(', ');
    const aliases = columns.map((_, i) => `c${i}`).join(', ');
    await client.query(`INSERT INTO "${table}" (${list}) SELECT ${select} FROM unnest(${unnest}) AS u(${aliases})`, arrays);
  }
  return rows.length;
}

/** Reserves `count` ids from a serial column's sequence, so rows can reference each other before insert. */
export async function reserveIds(client: pg.PoolClient | pg.Client, table: string, column: string, count: number): Promise<number[]> {
  if (count === 0) return [];
  // The sequence is looked up once: pg_get_serial_sequence inside the select list ran per row (6× slower).
  const {
    rows: [sequence],
  } = await client.query<{ oid: number }>('SELECT pg_get_serial_sequence($1, $2)::regclass::oid AS oid', [`"${table}"`, column]);
  const { rows } = await client.query<{ id: string }>('SELECT nextval($1::oid::regclass) AS id FROM generate_series(1, $2)', [sequence!.oid, count]);
  return rows.map((r) => Number(r.id));
}

/** One value in COPY text format: \N for NULL, ISO dates, and backslash escapes for the special characters. */
function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text = value instanceof Date ? value.toISOString() : String(value);
  return /[\\\t\n\r]/.test(text) ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : text;
}

/**
 * Streams rows into a table with `COPY ... FROM STDIN`: the fastest way PostgreSQL loads data, about
 * twice an unnest insert. Column types come from the table, so enums, arrays ('{1,2}') and jsonb work
 * as text. Runs inside the caller's transaction.
 */
export async function copyRows(client: pg.PoolClient | pg.Client, table: string, columns: string[], rows: unknown[][]): Promise<number> {
  if (rows.length === 0) return 0;
  const stream = client.query(copyFrom(`COPY "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) FROM STDIN`));
  const chunks = function* () {
    let batch = '';
    for (const row of rows) {
      batch += `${row.map(copyValue).join('\t')}\n`;
      if (batch.length > 1 << 16) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  };
  await pipeline(Readable.from(chunks()), stream);
  return rows.length;
}

/**
 * Skips the per-row foreign-key triggers for the rest of the caller's transaction where the role may
 * (`SET LOCAL session_replication_role = replica`: a superuser, or a role granted SET on the parameter, as the
 * embedded install grants its owner), as pg_restore --disable-triggers does; logical decoding (CDC) is
 * unaffected. For writers whose every id was just read or reserved in the same transaction. Returns whether
 * it could; a role that may not keeps the checks (a savepoint undoes the refused SET).
 */
export async function skipForeignKeyTriggers(client: pg.PoolClient): Promise<boolean> {
  await client.query('SAVEPOINT rtrec_fk_triggers');
  try {
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query('RELEASE SAVEPOINT rtrec_fk_triggers');
    return true;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT rtrec_fk_triggers');
    return false;
  }
}
