import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { inTransaction } from '../database/transaction.js';
import { AppError } from '../errors.js';
import type { InteractionType } from '../recommend/evaluation/split.js';
import type { CsvRecord } from './csv.js';
import { checkedRows, fileSize } from './log-rows.js';
import { type ColumnIndex, type ColumnMapping, checkCore, MAX_KEY_LENGTH, type MappingField, type TypeTarget } from './mapping.js';

/**
 * The evaluation-only path (`rtrec import events --evaluation-only`): a log goes into imported_events, keyed by
 * the log's own user and item identifiers, and never becomes shop history. For baseline studies of logs that
 * should not enter the shop (or are too large for it); `rtrec evaluate --source imported` reads it.
 */

/** The mapped fields this path stores; the others (name, quantity, basket, session) describe shop history. */
const EVALUATION_FIELDS: readonly MappingField[] = ['user', 'item', 'type', 'timestamp', 'price', 'category'];

const badInput = (message: string) => new AppError('BAD_USER_INPUT', message);

/** One validated row in the column order of the COPY, or the reason it is wrong. */
type RowResult = { row: (string | null)[]; type: InteractionType } | { skip: true } | { error: string };

function checkRow(record: CsvRecord, header: string[], index: ColumnIndex, mapping: ColumnMapping, types: Record<string, TypeTarget>): RowResult {
  const core = checkCore(record, header, index, mapping, types);
  if (!('type' in core)) return core;
  const { type, at, value, where } = core;
  const priceText = value('price');
  let price: string | null = null;
  if (priceText) {
    const n = Number(priceText);
    if (!/^\d+(\.\d+)?$/.test(priceText) || n >= 1e10)
      return { error: `${where('price')}: "${priceText}" is not a price (a non-negative number below 10000000000, e.g. 19.99)` };
    price = priceText;
  }
  const category = value('category') || null;
  if (category && category.length > MAX_KEY_LENGTH) return { error: `${where('category')}: longer than ${MAX_KEY_LENGTH} characters` };
  return { row: [value('user')!, value('item')!, type, at.toISOString(), price, category], type };
}

/** One value in COPY text format. */
function copyValue(value: string | null): string {
  if (value === null) return '\\N';
  return /[\\\t\n\r]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : value;
}

export interface EvaluationLogOptions {
  file: string;
  mapping: ColumnMapping;
  types: Record<string, TypeTarget>;
  /** Delete every earlier imported event in the same transaction. */
  replace: boolean;
}

export interface EvaluationLogResult {
  file: string;
  rows: number;
  skipped: number;
  byType: Partial<Record<InteractionType, number>>;
  replaced: number;
  totalImported: number;
  elapsedMs: number;
}

/**
 * Loads a CSV interaction log into imported_events in one transaction, with COPY. Every row is checked;
 * any bad row (up to ten are reported, by line and column) rolls the whole import back.
 */
export async function importEvaluationLog(
  pool: pg.Pool,
  options: EvaluationLogOptions,
  onBytes: (bytes: number, total: number) => void = () => undefined,
): Promise<EvaluationLogResult> {
  const started = Date.now();
  const extra = (Object.keys(options.mapping) as MappingField[]).filter((f) => !EVALUATION_FIELDS.includes(f));
  if (extra.length)
    throw badInput(
      `--map: ${extra.join(', ')} ${extra.length === 1 ? 'is' : 'are'} not stored by --evaluation-only (it keeps ${EVALUATION_FIELDS.join(', ')}); drop ${extra.length === 1 ? 'it' : 'them'} or import into the shop.`,
    );
  // A missing file is refused before the transaction starts.
  fileSize(options.file);
  const byType: Partial<Record<InteractionType, number>> = {};
  const stats = { skipped: 0, bytes: 0 };
  let rows = 0;

  async function* copyText(): AsyncGenerator<string> {
    for await (const batch of checkedRows(options.file, { mapping: options.mapping, types: options.types, check: checkRow, onBytes, stats })) {
      rows += batch.length;
      for (const r of batch) byType[r.type] = (byType[r.type] ?? 0) + 1;
      yield batch.map((r) => `${r.row.map(copyValue).join('\t')}\n`).join('');
    }
  }

  return inTransaction(pool, async (client) => {
    let replaced = 0;
    if (options.replace) {
      replaced = Number((await client.query<{ n: string }>('SELECT count(*) n FROM imported_events')).rows[0]!.n);
      await client.query('TRUNCATE imported_events');
    }
    const copy = client.query(copyFrom('COPY imported_events (user_key, item_key, event_type, occurred_at, price, category) FROM STDIN'));
    await pipeline(Readable.from(copyText()), copy);
    const total = Number((await client.query<{ n: string }>('SELECT count(*) n FROM imported_events')).rows[0]!.n);
    return { file: options.file, rows, skipped: stats.skipped, byType, replaced, totalImported: total, elapsedMs: Date.now() - started };
  });
}
