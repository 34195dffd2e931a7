import { createHash } from 'node:crypto';
import { MAX_CENTS } from '../common/money.js';
import type { InteractionType } from '../recommend/evaluation/split.js';
import { MAX_QUANTITY } from '../shop/storefront.js';
import type { CsvRecord } from './csv.js';
import { checkedRows } from './log-rows.js';
import { type ColumnIndex, type ColumnMapping, checkCore, MAX_KEY_LENGTH, type TypeTarget } from './mapping.js';

/** One validated interaction of a log, as the shop importer uses it. */
export interface LogRow {
  /** 1-based line in the file (the header is line 1). */
  line: number;
  user: string;
  item: string;
  type: InteractionType;
  /** Epoch milliseconds. */
  at: number;
  /** The log's own unit price, rounded to cents; null when the log gives none. */
  priceCents: number | null;
  category: string | null;
  name: string | null;
  quantity: number;
  basket: string | null;
  session: string | null;
  /**
   * Identity of the row within its source: a hash of who did what to which item when (basket and session
   * included), and how many identical rows came before it in the file, formatted as a UUID for the
   * import_rows table. Descriptive columns (price, name, category, quantity) are left out, so a second file
   * of the same log with a corrected price still recognises the row.
   */
  fingerprint: string;
}

export interface ReadLog {
  rows: LogRow[];
  /** Rows whose type --types maps to skip. */
  skipped: number;
  bytes: number;
}

/** The shop's product names are varchar(200). */
const MAX_NAME_LENGTH = 200;
/** A purchase line may buy this many units (Complete Journey sells fuel by the unit: 32,623 in one line). */
export const MAX_PURCHASE_QUANTITY = 1_000_000;

type Checked = { row: Omit<LogRow, 'fingerprint'>; identity: string } | { skip: true } | { error: string };

function checkRow(record: CsvRecord, header: string[], index: ColumnIndex, mapping: ColumnMapping, types: Record<string, TypeTarget>): Checked {
  const core = checkCore(record, header, index, mapping, types);
  if (!('type' in core)) return core;
  const { type, at, value, where } = core;
  const quantityText = value('quantity');
  let quantity = 1;
  if (quantityText) {
    const limit = type === 'add_to_cart' ? MAX_QUANTITY : MAX_PURCHASE_QUANTITY;
    quantity = Number(quantityText);
    if (!/^\d+$/.test(quantityText) || quantity < 1 || quantity > limit) {
      return {
        error: `${where('quantity')}: "${quantityText}" is not a quantity (a whole number from 1 to ${limit}${type === 'add_to_cart' ? " for a cart addition, the storefront's limit" : ''})`,
      };
    }
  }
  const priceText = value('price');
  let priceCents: number | null = null;
  if (priceText) {
    const n = Number(priceText);
    if (!/^\d+(\.\d+)?$/.test(priceText) || Math.round(n * 100) > MAX_CENTS)
      return { error: `${where('price')}: "${priceText}" is not a price (a non-negative number below 100000000, e.g. 19.99)` };
    priceCents = Math.round(n * 100);
    if (priceCents * quantity > MAX_CENTS)
      return { error: `${where('price')}: ${priceText} × quantity ${quantity} is more than an order total can hold (99999999.99)` };
  }
  const optional: Partial<Record<'category' | 'name' | 'basket' | 'session', string | null>> = {};
  for (const field of ['category', 'name', 'basket', 'session'] as const) {
    const v = value(field) || null;
    const max = field === 'name' ? MAX_NAME_LENGTH : MAX_KEY_LENGTH;
    if (v && v.length > max) return { error: `${where(field)}: longer than ${max} characters` };
    optional[field] = v;
  }
  const row = {
    line: record.line,
    user: value('user')!,
    item: value('item')!,
    type,
    at: at.getTime(),
    priceCents,
    quantity,
    category: optional.category ?? null,
    name: optional.name ?? null,
    basket: optional.basket ?? null,
    session: optional.session ?? null,
  };
  const identity = JSON.stringify([row.user, row.item, row.type, row.at, row.basket, row.session]);
  return { row, identity };
}

function uuidOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Reads and validates a whole CSV log before anything is written. Any bad row (up to ten are reported, by
 * line and column) fails the import with BAD_USER_INPUT.
 */
export async function readLog(
  file: string,
  mapping: ColumnMapping,
  types: Record<string, TypeTarget>,
  onBytes: (bytes: number, total: number) => void = () => undefined,
): Promise<ReadLog> {
  const rows: LogRow[] = [];
  const seen = new Map<string, number>();
  const stats = { skipped: 0, bytes: 0 };
  for await (const batch of checkedRows(file, { mapping, types, check: checkRow, onBytes, stats })) {
    for (const result of batch) {
      // Identical rows are distinct events (two views in one second): the n-th copy has its own identity.
      const n = (seen.get(result.identity) ?? 0) + 1;
      seen.set(result.identity, n);
      rows.push({ ...result.row, fingerprint: uuidOf(`${n}\u001f${result.identity}`) });
    }
  }
  return { rows, skipped: stats.skipped, bytes: stats.bytes };
}
