import { createHash } from 'node:crypto';
import { AppError } from '../errors.js';
import type { LogRow } from './read-log.js';

/**
 * Turns the validated rows of a log into shop actions, the same for both modes: product views, cart and
 * wishlist additions one per row, and purchase lines grouped into orders. Pure: no database.
 */

/** Without a session column, a pause longer than this starts a new session (the usual 30-minute rule). */
export const SESSION_GAP_MS = 30 * 60_000;

export interface OrderLine {
  item: string;
  quantity: number;
  /** The log's unit price for this line; null = the product's catalogue price. */
  priceCents: number | null;
}

interface ActionBase {
  at: number;
  user: string;
  /** A UUID derived from the source and the log's session (or the user's activity burst), stable across imports. */
  sessionId: string;
  /** Fingerprints of the rows this action records (several for an order). */
  fingerprints: string[];
}

export type ImportAction =
  | (ActionBase & { kind: 'view_product' | 'add_to_wishlist'; item: string })
  | (ActionBase & { kind: 'add_to_cart'; item: string; quantity: number })
  | (ActionBase & { kind: 'order'; orderKey: string; lines: OrderLine[] });

/** What a new item needs to become a product: its category, name and first price in the log. */
export interface ItemInfo {
  category: string | null;
  name: string | null;
  priceCents: number | null;
}

export interface ImportPlan {
  /** In time order (the file's order among equal times); an order sits at its first line's time. */
  actions: ImportAction[];
  users: Set<string>;
  items: Map<string, ItemInfo>;
  /** Rows of the file that an earlier import of the source already wrote. */
  rowsKnown: number;
  rowsNew: number;
}

function uuidOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Session ids for every row of the file (known rows too, so that a second, overlapping file cuts the
 * sessions of the overlap the same way).
 */
function sessionIds(source: string, rows: readonly LogRow[]): Map<LogRow, string> {
  const ids = new Map<LogRow, string>();
  const last = new Map<string, { at: number; id: string }>();
  for (const row of rows) {
    if (row.session !== null) {
      ids.set(row, uuidOf(`${source}\u001fsession\u001f${row.session}`));
      continue;
    }
    const previous = last.get(row.user);
    const id = previous && row.at - previous.at <= SESSION_GAP_MS ? previous.id : uuidOf(`${source}\u001fburst\u001f${row.user}\u001f${row.at}`);
    last.set(row.user, { at: row.at, id });
    ids.set(row, id);
  }
  return ids;
}

/**
 * Plans the import of `rows` (any order) whose fingerprints are not in `known`. Purchases with the same
 * basket form one order (without a basket column: the purchases of one user at one moment); a basket shared
 * by two users is a mistake in the log.
 */
export function planImport(source: string, rows: readonly LogRow[], known: ReadonlySet<string>): ImportPlan {
  const sorted = [...rows].sort((a, b) => a.at - b.at || a.line - b.line);
  const sessions = sessionIds(source, sorted);
  const actions: ImportAction[] = [];
  const orders = new Map<string, ImportAction & { kind: 'order' }>();
  const users = new Set<string>();
  const items = new Map<string, ItemInfo>();
  let rowsKnown = 0;

  for (const row of sorted) {
    if (known.has(row.fingerprint)) {
      rowsKnown++;
      continue;
    }
    users.add(row.user);
    const info = items.get(row.item);
    if (!info) items.set(row.item, { category: row.category, name: row.name, priceCents: row.priceCents });
    else {
      // The first value the log gives wins: a later row may leave a column empty.
      info.category ??= row.category;
      info.name ??= row.name;
      info.priceCents ??= row.priceCents;
    }
    const base = { at: row.at, user: row.user, sessionId: sessions.get(row)!, fingerprints: [row.fingerprint] };
    if (row.type === 'view_product' || row.type === 'add_to_wishlist') actions.push({ ...base, kind: row.type, item: row.item });
    else if (row.type === 'add_to_cart') actions.push({ ...base, kind: 'add_to_cart', item: row.item, quantity: row.quantity });
    else {
      const orderKey = row.basket ?? `${row.user}@${new Date(row.at).toISOString()}`;
      const line = { item: row.item, quantity: row.quantity, priceCents: row.priceCents };
      const order = orders.get(orderKey);
      if (!order) {
        const created = { ...base, kind: 'order' as const, orderKey, lines: [line] };
        orders.set(orderKey, created);
        actions.push(created);
      } else if (order.user !== row.user) {
        throw new AppError(
          'BAD_USER_INPUT',
          `line ${row.line}: basket "${row.basket}" belongs to user "${order.user}" on an earlier line, and to "${row.user}" here; one basket is one order of one customer. Fix the log or map another basket column.`,
        );
      } else {
        order.lines.push(line);
        order.fingerprints.push(row.fingerprint);
      }
    }
  }
  return { actions, users, items, rowsKnown, rowsNew: rows.length - rowsKnown };
}
