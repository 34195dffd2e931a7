/**
 * Bulk import benchmark: how fast `rtrec import events` turns a real log into shop history (not a timed test).
 *
 *   npx tsx bench/import.ts --csv /work/shared/datasets/completejourney-sample.csv \
 *     --map user=user,item=item,type=type,timestamp=ts,quantity=quantity,price=price,basket=basket,category=category
 *   npx tsx bench/import.ts --csv /work/shared/datasets/taobao-userbehavior-slice.csv \
 *     --map user=user,item=item,type=type,timestamp=ts,category=category --types view=view_product,cart=add_to_cart,wishlist=add_to_wishlist,purchase=purchase
 *
 * Each run imports into a fresh database `rtrec_bench_import` (next to the configured or embedded one), in
 * process through the same importLog() the CLI calls, then imports the same file again (every row is then
 * recognised and nothing is written) to time the dedupe path. Figures: shop rows written per second of the whole
 * import (reading, checking and planning the file included) and log rows per second.
 *
 * Baseline in the same run: PostgreSQL's own COPY of exactly the rows the import wrote, table by table, into
 * copies of the tables with the same indexes (`LIKE … INCLUDING ALL`), from text it already has in memory. That
 * is the ceiling a bulk path can reach on this machine today; the import's rate is reported against it.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createPool, createPrisma } from '../src/database/database.js';
import { importLog } from '../src/importer/import-log.js';
import { parseColumnMapping, parseTypeMapping } from '../src/importer/mapping.js';
import { sourceOfFile } from '../src/importer/placeholders.js';
import { createLogger } from '../src/logging/logger.js';
import { benchDatabase } from './lib.js';

const { values } = parseArgs({ options: { csv: { type: 'string' }, map: { type: 'string' }, types: { type: 'string' }, source: { type: 'string' } } });
if (!values.csv || !values.map) throw new Error('usage: npx tsx bench/import.ts --csv FILE --map MAPPING [--types MAPPING] [--source NAME]');

const url = await benchDatabase('rtrec_bench_import');
const pool = createPool(url, 4);
const db = createPrisma(url, 2);
const deps = { pool, db, logger: createLogger(process.env.LOG_LEVEL ?? 'warn') };
const options = {
  file: values.csv,
  mapping: parseColumnMapping(values.map),
  types: parseTypeMapping(values.types),
  source: values.source ?? sourceOfFile(values.csv),
};

try {
  const first = await importLog(deps, options);
  const written = Object.values(first.rowsByTable).reduce((a, b) => a + b, 0);
  const again = await importLog(deps, options);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`${values.csv}: ${first.rows.read} log rows (${first.rows.new} imported, ${first.rows.skipped} skipped) → ${written} shop rows`);
  out(
    `  bulk import   ${(first.elapsedMs / 1000).toFixed(2)} s   ${Math.round(first.rowsPerSecond)} shop rows/s   ${Math.round((first.rows.read * 1000) / first.elapsedMs)} log rows/s`,
  );
  out(`  re-import     ${(again.elapsedMs / 1000).toFixed(2)} s   ${again.rows.known} rows recognised, ${again.actions.total} actions written`);
  out(`  rows by table ${JSON.stringify(first.rowsByTable)}`);
  const ceiling = await copyCeiling(Object.keys(first.rowsByTable).filter((t) => (first.rowsByTable[t as keyof typeof first.rowsByTable] ?? 0) > 0));
  const ceilingRate = (ceiling.rows * 1000) / ceiling.ms;
  out(
    `  baseline: COPY of the same ${ceiling.rows} rows into tables with the same indexes ${(ceiling.ms / 1000).toFixed(2)} s = ${Math.round(ceilingRate)} rows/s; the import reaches ${((first.rowsPerSecond / ceilingRate) * 100).toFixed(0)}% of it`,
  );
} finally {
  await Promise.allSettled([pool.end(), db.$disconnect()]);
}

/** Times COPY FROM STDIN of each table's rows (read out first) into a fresh copy of the table with its indexes. */
async function copyCeiling(tables: string[]): Promise<{ rows: number; ms: number }> {
  const client = await pool.connect();
  let rows = 0;
  let ms = 0;
  try {
    for (const table of tables) {
      const chunks: Buffer[] = [];
      const reading = client.query(copyTo(`COPY "${table}" TO STDOUT`));
      for await (const chunk of reading) chunks.push(chunk as Buffer);
      await client.query(`DROP TABLE IF EXISTS "bench_${table}"; CREATE TABLE "bench_${table}" (LIKE "${table}" INCLUDING ALL)`);
      const started = performance.now();
      await client.query('BEGIN');
      await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY "bench_${table}" FROM STDIN`)));
      await client.query('COMMIT');
      ms += performance.now() - started;
      rows += (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "bench_${table}"`)).rows[0]!.n;
      await client.query(`DROP TABLE "bench_${table}"`);
    }
    return { rows, ms };
  } finally {
    client.release();
  }
}
