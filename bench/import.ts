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
 */
import { parseArgs } from 'node:util';
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
const deps = { pool, db, logger: createLogger('warn') };
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
} finally {
  await Promise.allSettled([pool.end(), db.$disconnect()]);
}
