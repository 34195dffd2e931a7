import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { inTransaction } from '../../database/transaction.js';
import { AppError } from '../../errors.js';
import { createCsvReader, type CsvRecord, CsvSyntaxError } from './csv.js';
import { INTERACTION_TYPES, type InteractionType } from './split.js';

/** The fields of an interaction that a CSV column can be mapped to. */
export const MAPPING_FIELDS = ['user', 'item', 'type', 'timestamp', 'price', 'category'] as const;
export type MappingField = (typeof MAPPING_FIELDS)[number];
const REQUIRED_FIELDS: readonly MappingField[] = ['user', 'item', 'type', 'timestamp'];
export type ColumnMapping = Partial<Record<MappingField, string>> & Record<'user' | 'item' | 'type' | 'timestamp', string>;

/** A type value of the log becomes one of the interaction types, or is skipped. */
export type TypeTarget = InteractionType | 'skip';
const TYPE_TARGETS: readonly TypeTarget[] = [...INTERACTION_TYPES, 'skip'];
/** Accepted without a --types entry: the interaction types themselves, and the shop's own name for a purchase. */
const DEFAULT_TYPES: Record<string, TypeTarget> = { ...Object.fromEntries(INTERACTION_TYPES.map((t) => [t, t])), place_order: 'purchase' };

const MAX_KEY_LENGTH = 200;
/** Stop after this many bad rows: enough to see a pattern, short enough to read. */
const MAX_REPORTED_ERRORS = 10;

const badInput = (message: string) => new AppError('BAD_USER_INPUT', message);

function parsePairs(text: string, option: string, example: string): [string, string][] {
  const pairs = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (pairs.length === 0) throw badInput(`${option} is empty: pass name=value pairs, e.g. ${option} ${example}.`);
  return pairs.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw badInput(`${option}: "${pair}" is not a name=value pair, e.g. ${option} ${example}.`);
    return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  });
}

/** Parses `user=<col>,item=<col>,type=<col>,timestamp=<col>[,price=<col>,category=<col>]`. */
export function parseColumnMapping(text: string): ColumnMapping {
  const example = 'user=visitorid,item=itemid,type=event,timestamp=timestamp';
  const mapping: Partial<Record<MappingField, string>> = {};
  for (const [field, column] of parsePairs(text, '--map', example)) {
    if (!(MAPPING_FIELDS as readonly string[]).includes(field)) throw badInput(`--map: unknown field "${field}"; the fields are ${MAPPING_FIELDS.join(', ')} (price and category optional).`);
    if (mapping[field as MappingField]) throw badInput(`--map: field "${field}" is mapped twice.`);
    mapping[field as MappingField] = column;
  }
  const missing = REQUIRED_FIELDS.filter((f) => !mapping[f]);
  if (missing.length) throw badInput(`--map: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not mapped; map every required field, e.g. --map ${example}.`);
  return mapping as ColumnMapping;
}

/** Parses `view=view_product,addtocart=add_to_cart,transaction=purchase,remove=skip` on top of the defaults. */
export function parseTypeMapping(text: string | undefined): Record<string, TypeTarget> {
  const types = { ...DEFAULT_TYPES };
  if (text === undefined) return types;
  for (const [value, target] of parsePairs(text, '--types', 'view=view_product,addtocart=add_to_cart,transaction=purchase')) {
    if (!(TYPE_TARGETS as readonly string[]).includes(target)) throw badInput(`--types: "${target}" (for "${value}") is not a type; use one of ${TYPE_TARGETS.join(', ')}.`);
    types[value] = target as TypeTarget;
  }
  return types;
}

/**
 * Reads a timestamp: ISO 8601 (a date alone is midnight UTC; no zone means UTC), or Unix epoch seconds, or
 * epoch milliseconds (13 digits or more).
 */
export function parseTimestamp(text: string): Date | null {
  const t = text.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    ms = t.split('.')[0]!.length >= 12 ? n : n * 1000;
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const iso = t.replace(' ', 'T');
    ms = Date.parse(/T/.test(iso) && !/(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? `${iso}Z` : iso);
  } else {
    return null;
  }
  const d = new Date(Math.round(ms));
  const year = d.getUTCFullYear();
  return Number.isNaN(d.getTime()) || year < 1970 || year > 9999 ? null : d;
}

/** Resolved positions of the mapped columns in the header. */
type ColumnIndex = Partial<Record<MappingField, number>>;

function indexColumns(header: string[], mapping: ColumnMapping, file: string): ColumnIndex {
  const index: ColumnIndex = {};
  for (const field of MAPPING_FIELDS) {
    const column = mapping[field];
    if (column === undefined) continue;
    const positions = header.flatMap((h, i) => (h.trim() === column ? [i] : []));
    if (positions.length === 0) throw badInput(`${file}: column "${column}" (mapped to ${field}) is not in the header; the columns are ${header.map((h) => `"${h}"`).join(', ')}. Fix --map.`);
    if (positions.length > 1) throw badInput(`${file}: column "${column}" (mapped to ${field}) appears ${positions.length} times in the header; rename one of them.`);
    index[field] = positions[0];
  }
  return index;
}

/** One validated row in the column order of the COPY, or the reason it is wrong. */
type RowResult = { row: (string | null)[]; type: InteractionType } | { skip: true } | { error: string };

function checkRow(record: CsvRecord, header: string[], index: ColumnIndex, mapping: ColumnMapping, types: Record<string, TypeTarget>): RowResult {
  if (record.fields.length !== header.length) return { error: `line ${record.line}: ${record.fields.length} fields where the header has ${header.length}` };
  const value = (field: MappingField) => (index[field] === undefined ? undefined : record.fields[index[field]!]!.trim());
  const where = (field: MappingField) => `line ${record.line}, column "${mapping[field]}" (${field})`;

  const type = value('type')!;
  const target = types[type];
  if (!target) return { error: `${where('type')}: unknown event type "${type}"; map it with --types ${type || '<value>'}=${TYPE_TARGETS.join('|')}` };
  if (target === 'skip') return { skip: true };
  for (const field of ['user', 'item'] as const) {
    const v = value(field)!;
    if (v === '') return { error: `${where(field)}: empty` };
    if (v.length > MAX_KEY_LENGTH) return { error: `${where(field)}: longer than ${MAX_KEY_LENGTH} characters` };
  }
  const at = parseTimestamp(value('timestamp')!);
  if (!at) return { error: `${where('timestamp')}: cannot read "${value('timestamp')}" as a time; use ISO 8601 (2026-01-31T12:00:00Z) or Unix epoch seconds or milliseconds` };
  const priceText = value('price');
  let price: string | null = null;
  if (priceText) {
    const n = Number(priceText);
    if (!/^\d+(\.\d+)?$/.test(priceText) || n >= 1e10) return { error: `${where('price')}: "${priceText}" is not a price (a non-negative number below 10000000000, e.g. 19.99)` };
    price = priceText;
  }
  const category = value('category') || null;
  if (category && category.length > MAX_KEY_LENGTH) return { error: `${where('category')}: longer than ${MAX_KEY_LENGTH} characters` };
  return { row: [value('user')!, value('item')!, target, at.toISOString(), price, category], type: target };
}

/** One value in COPY text format. */
function copyValue(value: string | null): string {
  if (value === null) return '\\N';
  return /[\\\t\n\r]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : value;
}

export interface ImportOptions {
  file: string;
  mapping: ColumnMapping;
  types: Record<string, TypeTarget>;
  /** Delete every earlier imported event in the same transaction. */
  replace: boolean;
}

export interface ImportResult {
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
export async function importEvents(pool: pg.Pool, options: ImportOptions, onBytes: (bytes: number, total: number) => void = () => undefined): Promise<ImportResult> {
  const started = Date.now();
  let size: number;
  try {
    const stat = statSync(options.file);
    if (!stat.isFile()) throw new Error('not a file');
    size = stat.size;
  } catch {
    throw badInput(`${options.file}: no such file; pass the path of a CSV file to --csv.`);
  }

  const reader = createCsvReader();
  const errors: string[] = [];
  const byType: Partial<Record<InteractionType, number>> = {};
  let rows = 0;
  let skipped = 0;
  let header: string[] | null = null;
  let index: ColumnIndex = {};

  async function* copyText(): AsyncGenerator<string> {
    const input = createReadStream(options.file, { encoding: 'utf8', highWaterMark: 1 << 20 });
    let bytes = 0;
    const handle = function* (records: CsvRecord[]): Generator<string> {
      let batch = '';
      for (const record of records) {
        if (!header) {
          header = record.fields;
          index = indexColumns(header, options.mapping, options.file);
          continue;
        }
        const result = checkRow(record, header, index, options.mapping, options.types);
        if ('error' in result) {
          errors.push(result.error);
          if (errors.length >= MAX_REPORTED_ERRORS) return;
        } else if ('skip' in result) {
          skipped++;
        } else if (errors.length === 0) {
          rows++;
          byType[result.type] = (byType[result.type] ?? 0) + 1;
          batch += `${result.row.map(copyValue).join('\t')}\n`;
        }
      }
      if (batch) yield batch;
    };
    try {
      for await (const chunk of input as AsyncIterable<string>) {
        bytes += Buffer.byteLength(chunk);
        yield* handle(reader.push(chunk));
        if (errors.length >= MAX_REPORTED_ERRORS) break;
        onBytes(bytes, size);
      }
      if (errors.length < MAX_REPORTED_ERRORS) yield* handle(reader.end());
    } catch (error) {
      if (error instanceof CsvSyntaxError) errors.push(`line ${error.line}: ${error.message}`);
      else throw error;
    } finally {
      input.destroy();
    }
    if (!header) throw badInput(`${options.file}: the file is empty; it needs a header line naming the columns.`);
    if (errors.length) {
      const more = errors.length >= MAX_REPORTED_ERRORS ? `\n  (stopped after ${MAX_REPORTED_ERRORS} errors)` : '';
      throw badInput(`${options.file} has bad rows; nothing was imported:\n  ${errors.join('\n  ')}${more}`);
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
    return { file: options.file, rows, skipped, byType, replaced, totalImported: total, elapsedMs: Date.now() - started };
  });
}
