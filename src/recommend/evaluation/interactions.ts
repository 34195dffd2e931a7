import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { EvaluationSource } from './recommender.js';
import { EVENT_WEIGHTS, type UserEvent } from './split.js';

/**
 * Reads interaction histories from the database: (user, item, time, weight) rows, one user's rows together,
 * streamed with COPY ... TO STDOUT so a history of millions of events never sits in memory as rows.
 */

const weightCase = (column: string, types: readonly (keyof typeof EVENT_WEIGHTS)[]) =>
  `CASE ${column} ${types.map((t) => `WHEN '${t}' THEN ${EVENT_WEIGHTS[t]}`).join(' ')} END`;

const SHOP_EVENT_TYPES = ['view_product', 'add_to_wishlist', 'add_to_cart'] as const;

/**
 * The shop's interactions: product views, wishlist and cart additions from behaviour events, and purchases
 * from the items of orders that were not cancelled (place_order events carry a product only for one-line
 * orders, so order_items is the complete record).
 */
const SHOP_INTERACTIONS = `
  SELECT customer_id AS u, product_id AS i, occurred_at AS at, ${weightCase('event_type', SHOP_EVENT_TYPES)} AS w
    FROM behavior_events
   WHERE event_type IN (${SHOP_EVENT_TYPES.map((t) => `'${t}'`).join(', ')}) AND product_id IS NOT NULL
  UNION ALL
  SELECT o.customer_id, oi.product_id, o.order_date, ${EVENT_WEIGHTS.purchase}
    FROM orders o JOIN order_items oi ON oi.order_id = o.order_id
   WHERE o.status <> 'cancelled'`;

const IMPORTED_INTERACTIONS = `
  SELECT user_key AS u, item_key AS i, occurred_at AS at, ${weightCase('event_type', Object.keys(EVENT_WEIGHTS) as (keyof typeof EVENT_WEIGHTS)[])} AS w
    FROM imported_events`;

const interactions = (source: EvaluationSource) => (source === 'shop' ? SHOP_INTERACTIONS : IMPORTED_INTERACTIONS);

export interface HistorySpan {
  from: Date;
  to: Date;
  events: number;
}

/** First and last interaction and their count; null when there is none. */
export async function historySpan(pool: pg.Pool, source: EvaluationSource): Promise<HistorySpan | null> {
  const { rows } = await pool.query<{ lo: Date | null; hi: Date | null; n: string }>(
    `SELECT min(at) lo, max(at) hi, count(*) n FROM (${interactions(source)}) e`,
  );
  const r = rows[0]!;
  return r.lo && r.hi ? { from: r.lo, to: r.hi, events: Number(r.n) } : null;
}

/** Every item that may be recommended: the products (shop), or the items of the log (imported). */
async function shopCatalogue(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>('SELECT product_id AS id FROM products ORDER BY product_id');
  return rows.map((r) => r.id);
}

/** Dense integer ids for the text keys of an imported log, in order of first appearance. */
class KeyIndex {
  private readonly ids = new Map<string, number>();
  id(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) this.ids.set(key, (id = this.ids.size + 1));
    return id;
  }
  allIds(): number[] {
    return [...this.ids.values()];
  }
}

export interface LoadedHistory {
  /** Item ids that may be recommended; imported logs get dense ids in order of first appearance. */
  catalogue: number[];
}

/**
 * Streams every user's events, grouped by user, to `onUser`; returns the catalogue. `onRows` reports how
 * many rows have been read so far.
 */
export async function streamHistories(
  pool: pg.Pool,
  source: EvaluationSource,
  onUser: (user: number, events: UserEvent[]) => void,
  onRows: (rows: number) => void = () => undefined,
): Promise<LoadedHistory> {
  const imported = source === 'imported';
  const userKeys = new KeyIndex();
  const itemKeys = new KeyIndex();
  const order = imported ? 'u COLLATE "C", at' : 'u, at';
  const sql = `COPY (SELECT u, i, floor(extract(epoch FROM at) * 1000)::int8, w FROM (${interactions(source)}) e ORDER BY ${order}) TO STDOUT`;
  const client = await pool.connect();
  let rows = 0;
  let currentKey: string | null = null;
  let current: UserEvent[] = [];
  const flush = () => {
    if (currentKey !== null) onUser(imported ? userKeys.id(currentKey) : Number(currentKey), current);
    current = [];
  };
  try {
    const stream = client.query(copyTo(sql));
    let rest = '';
    stream.setEncoding('utf8');
    for await (const chunk of stream as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const [u, i, at, w] = line.split('\t') as [string, string, string, string];
        if (u !== currentKey) {
          flush();
          currentKey = u;
        }
        current.push({ item: imported ? itemKeys.id(i) : Number(i), at: Number(at), weight: Number(w) });
        rows++;
      }
      onRows(rows);
    }
    flush();
  } finally {
    client.release();
  }
  return { catalogue: imported ? itemKeys.allIds() : await shopCatalogue(pool) };
}
