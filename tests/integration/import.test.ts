import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows } from '../../src/database/counts.js';
import { IMPORT_TABLES, type ImportSummary, importLog } from '../../src/importer/import-log.js';
import { parseColumnMapping, parseTypeMapping } from '../../src/importer/mapping.js';
import { streamHistories } from '../../src/recommend/evaluation/interactions.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
let dir: string;
const env = () => ({ DATABASE_URL: t.url });
const MAP = 'user=user,item=item,type=type,timestamp=ts,quantity=qty,price=price,basket=basket,category=category,name=name';
const TYPES = 'view=view_product,cart=add_to_cart,wishlist=add_to_wishlist,purchase=purchase,remove=skip';
const SHOP_TABLES = [...IMPORT_TABLES.filter((x) => !x.startsWith('import_')), 'import_keys', 'import_rows'] as const;

const HEADER = 'user,item,type,ts,qty,price,basket,category,name';
/** Two shoppers: views, cart and wishlist additions, two baskets (one of two lines), a skipped type and a repeated view. */
const LOG = [
  HEADER,
  'u1,i1,view,2026-03-01T10:00:00Z,,,,Fruit,Apple',
  'u1,i1,cart,2026-03-01T10:01:00Z,2,,,Fruit,',
  'u1,i2,wishlist,2026-03-01T10:02:00Z,,,,Dairy,',
  'u1,i1,purchase,2026-03-01T10:05:00Z,2,0.50,b1,Fruit,',
  'u1,i3,purchase,2026-03-01T10:05:00Z,1,3.20,b1,,',
  'u2,i2,view,2026-03-02T09:00:00Z,,,,Dairy,',
  'u2,i2,view,2026-03-02T09:00:00Z,,,,Dairy,',
  'u2,i1,cart,2026-03-02T09:03:00Z,1,,,,',
  'u2,i2,remove,2026-03-02T09:04:00Z,,,,,',
  'u2,i2,purchase,2026-03-02T09:10:00Z,1,,b2,Dairy,',
];

function write(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const run = (file: string, source: string, replay?: { speed: number }) =>
  importLog({ pool: t.pool, db: t.db, logger: t.logger }, { file, mapping: parseColumnMapping(MAP), types: parseTypeMapping(TYPES), source, replay });

beforeAll(async () => {
  t = await createTestDatabase('import');
  dir = mkdtempSync(join(tmpdir(), 'rtrec-import-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t.drop();
});

describe('a bulk import of a small hand-made log', () => {
  let summary: ImportSummary;
  beforeAll(async () => {
    const result = await runCli(['import', 'events', '--csv', write('shop-log.csv', LOG), '--map', MAP, '--types', TYPES, '--json'], env());
    expect(result.code, result.stderr).toBe(0);
    summary = JSON.parse(result.stdout) as ImportSummary;
  });

  it('reports rows, actions and the rows written per table as JSON', () => {
    expect(summary).toMatchObject({
      mode: 'bulk',
      source: 'shop-log',
      rows: { read: 10, skipped: 1, known: 0, new: 9 },
      actions: { total: 8, written: 8 },
      stopped: false,
    });
    expect(summary.eventsByType).toEqual({ view_product: 3, add_to_cart: 2, add_to_wishlist: 1, place_order: 2 });
    expect(summary.rowsByTable).toEqual({
      customers: 2,
      categories: 3,
      products: 3,
      behavior_events: 8,
      carts: 2,
      wishlists: 1,
      orders: 2,
      order_items: 3,
      payments: 2,
      shipments: 2,
      import_keys: 2 + 3 + 3 + 2,
      import_rows: 9,
    });
  });

  it('creates customers with placeholder names and .invalid emails, and no password, phone or address', async () => {
    const { rows } = await t.pool.query('SELECT first_name, last_name, email, password_hash, address, phone_number FROM customers ORDER BY customer_id');
    expect(rows).toEqual([
      {
        first_name: 'Imported',
        last_name: 'customer u1',
        email: 'imported-shop-log-u1@import.invalid',
        password_hash: '!imported: no password',
        address: null,
        phone_number: null,
      },
      {
        first_name: 'Imported',
        last_name: 'customer u2',
        email: 'imported-shop-log-u2@import.invalid',
        password_hash: '!imported: no password',
        address: null,
        phone_number: null,
      },
    ]);
  });

  it('creates categories and products from the log, with placeholders where it is silent (a price of 1.00, an uncategorised category)', async () => {
    const { rows } = await t.pool.query(`SELECT p.name, p.price::text, p.stock, c.name AS category, p.sku LIKE 'IMP-%' AS imported_sku
      FROM products p JOIN categories c USING (category_id) ORDER BY p.product_id`);
    expect(rows).toEqual([
      { name: 'Apple', price: '0.50', stock: 1_000_000_000 - 2, category: 'Fruit [shop-log]', imported_sku: true },
      { name: 'Imported item i2', price: '1.00', stock: 1_000_000_000 - 1, category: 'Dairy [shop-log]', imported_sku: true },
      { name: 'Imported item i3', price: '3.20', stock: 1_000_000_000 - 1, category: 'Uncategorised [shop-log]', imported_sku: true },
    ]);
  });

  it('groups purchase lines by basket into paid orders with completed payments and a shipment each', async () => {
    const { rows } = await t.pool.query(`SELECT o.total_price::text AS total, o.status, pay.status AS payment, pay.amount::text AS amount, s.status AS shipment,
        (SELECT array_agg(oi.quantity || 'x' || oi.price ORDER BY oi.order_item_id) FROM order_items oi WHERE oi.order_id = o.order_id) AS lines
      FROM orders o JOIN payments pay USING (payment_id) JOIN shipments s USING (shipment_id) ORDER BY o.order_date`);
    expect(rows).toEqual([
      { total: '4.20', status: 'paid', payment: 'completed', amount: '4.20', shipment: 'pending', lines: ['2x0.50', '1x3.20'] },
      { total: '1.00', status: 'paid', payment: 'completed', amount: '1.00', shipment: 'pending', lines: ['1x1.00'] },
    ]);
  });

  it("writes cart lines, wishlist lines and one behaviour event per action, with the storefront's contexts", async () => {
    const carts = await t.pool.query('SELECT c.quantity, cu.last_name FROM carts c JOIN customers cu USING (customer_id) ORDER BY cu.customer_id');
    expect(carts.rows).toEqual([
      { quantity: 2, last_name: 'customer u1' },
      { quantity: 1, last_name: 'customer u2' },
    ]);
    expect((await t.pool.query('SELECT count(*)::int n FROM wishlists')).rows[0].n).toBe(1);
    const events = await t.pool.query(`SELECT event_type, context FROM behavior_events ORDER BY occurred_at, event_id`);
    expect(events.rows.map((e) => e.event_type)).toEqual([
      'view_product',
      'add_to_cart',
      'add_to_wishlist',
      'place_order',
      'view_product',
      'view_product',
      'add_to_cart',
      'place_order',
    ]);
    expect(events.rows[1].context).toEqual({ quantity: 2, cartQuantity: 2 });
    expect(events.rows[3].context).toMatchObject({ total: '4.20', paymentStatus: 'completed', items: [{ quantity: 2 }, { quantity: 1 }] });
    const sessions = await t.pool.query('SELECT count(DISTINCT session_id)::int n FROM behavior_events');
    expect(sessions.rows[0].n).toBe(2);
  });

  it('is read by the evaluation as shop history (views, carts, wishlists from events; purchases from order items)', async () => {
    let events = 0;
    await streamHistories(t.pool, 'shop', (_, e) => (events += e.length));
    expect(events).toBe(3 + 2 + 1 + 3);
  });

  it('importing the same file again adds nothing', async () => {
    const before = await countRows(t.pool, SHOP_TABLES);
    const again = await run(join(dir, 'shop-log.csv'), 'shop-log');
    expect(again.rows).toEqual({ read: 10, skipped: 1, known: 9, new: 0 });
    expect(Object.values(again.rowsByTable).every((n) => n === 0)).toBe(true);
    expect(await countRows(t.pool, SHOP_TABLES)).toEqual(before);
  });

  it('an overlapping second file of the same source adds only its new rows, to the same customers and products', async () => {
    const before = await countRows(t.pool, SHOP_TABLES);
    const file = write('shop-log-2.csv', [
      HEADER,
      ...LOG.slice(6),
      'u2,i2,view,2026-03-02T09:00:00Z,,,,Dairy,',
      'u1,i4,purchase,2026-03-03T08:00:00Z,3,2.00,b3,Fruit,Pear',
    ]);
    const second = await run(file, 'shop-log');
    expect(second.rows).toEqual({ read: 7, skipped: 1, known: 4, new: 2 });
    expect(second.rowsByTable).toMatchObject({ customers: 0, categories: 0, products: 1, behavior_events: 2, orders: 1, order_items: 1, import_rows: 2 });
    const after = await countRows(t.pool, SHOP_TABLES);
    expect(after.behavior_events - before.behavior_events).toBe(2);
    expect(after.customers).toBe(before.customers);
    expect((await t.pool.query(`SELECT name FROM products ORDER BY product_id DESC LIMIT 1`)).rows[0].name).toBe('Pear');
  });
});

describe('orders and mistakes', () => {
  it('without a basket column, the purchases of one user at one moment form one order', async () => {
    const file = write('no-basket.csv', [
      'who,what,did,when',
      'n1,x1,purchase,2026-04-01T12:00:00Z',
      'n1,x2,purchase,2026-04-01T12:00:00Z',
      'n1,x1,purchase,2026-04-02T12:00:00Z',
    ]);
    const summary = await importLog(
      { pool: t.pool, db: t.db, logger: t.logger },
      { file, mapping: parseColumnMapping('user=who,item=what,type=did,timestamp=when'), types: parseTypeMapping(undefined), source: 'no-basket' },
    );
    expect(summary.rowsByTable).toMatchObject({ orders: 2, order_items: 3, payments: 2, shipments: 2, behavior_events: 2 });
  });

  it('a bad row writes nothing, exits 2 and names the line and column', async () => {
    const before = await countRows(t.pool, SHOP_TABLES);
    const file = write('bad.csv', [...LOG.slice(0, 4), 'u3,i9,cart,2026-03-05T10:00:00Z,two,,,,', ...LOG.slice(4)]);
    const result = await runCli(['import', 'events', '--csv', file, '--map', MAP, '--types', TYPES], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/line 5, column "qty" \(quantity\): "two" is not a quantity/);
    expect(result.stderr).toMatch(/nothing was imported/);
    expect(await countRows(t.pool, SHOP_TABLES)).toEqual(before);
  });

  it('a basket shared by two users is refused before anything is written', async () => {
    const before = await countRows(t.pool, SHOP_TABLES);
    const file = write('shared-basket.csv', [HEADER, 'a,i1,purchase,2026-03-01T10:00:00Z,1,1,b9,,', 'b,i1,purchase,2026-03-01T10:00:00Z,1,1,b9,,']);
    await expect(run(file, 'shared')).rejects.toThrow(/line 3: basket "b9" belongs to user "a" on an earlier line, and to "b" here/);
    expect(await countRows(t.pool, SHOP_TABLES)).toEqual(before);
  });

  it('the CLI refuses bad flags with exit code 2 and the fix', async () => {
    const file = join(dir, 'shop-log.csv');
    const speed = await runCli(['import', 'events', '--csv', file, '--map', MAP, '--speed', '10'], env());
    expect(speed.code).toBe(2);
    expect(speed.stderr).toMatch(/--speed sets the pace of --replay/);
    const notNumber = await runCli(['import', 'events', '--csv', file, '--map', MAP, '--replay', '--speed', 'fast'], env());
    expect(notNumber.code).toBe(2);
    expect(notNumber.stderr).toMatch(/--speed <x>.*expected a number/);
    const source = await runCli(['import', 'events', '--csv', file, '--map', MAP, '--source', 'my log'], env());
    expect(source.code).toBe(2);
    expect(source.stderr).toMatch(/--source "my log" is not a source name/);
    const writers = await runCli(['import', 'events', '--csv', file, '--map', MAP, '--writers', '4'], env());
    expect(writers.code).toBe(2);
    expect(writers.stderr).toMatch(/--writers sets how many storefront transactions --replay keeps in flight; add --replay/);
    const both = await runCli(['import', 'events', '--csv', file, '--map', MAP, '--replay', '--writers', '2', '--batch-ms', '100'], env());
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/choose one/);
    const zero = await runCli(['import', 'events', '--csv', file, '--map', MAP, '--replay', '--writers', '0'], env());
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--writers <n>/);
    const replace = await runCli(['import', 'events', '--csv', file, '--map', MAP, '--replace'], env());
    expect(replace.code).toBe(2);
    expect(replace.stderr).toMatch(/--replace only applies with --evaluation-only/);
  });
});

describe('replay through the storefront', () => {
  let bulk: TestDatabase;
  afterAll(async () => bulk?.drop());

  it('at a high speed writes the same shop state as the bulk import (counts per table, orders, carts)', async () => {
    bulk = await createTestDatabase('import_bulk');
    const file = write('replay.csv', LOG);
    const options = { file, mapping: parseColumnMapping(MAP), types: parseTypeMapping(TYPES), source: 'replay' };
    const bulkSummary = await importLog({ pool: bulk.pool, db: bulk.db, logger: bulk.logger }, options);
    const replay = await createTestDatabase('import_replay');
    try {
      const replaySummary = await importLog({ pool: replay.pool, db: replay.db, logger: replay.logger }, { ...options, replay: { speed: 1e9 } });
      expect(replaySummary).toMatchObject({ mode: 'replay', actions: { total: 8, written: 8 }, stopped: false });
      expect(replaySummary.rowsByTable).toEqual(bulkSummary.rowsByTable);
      expect(await countRows(replay.pool, SHOP_TABLES)).toEqual(await countRows(bulk.pool, SHOP_TABLES));
      const state = (db: TestDatabase) =>
        db.pool
          .query(`SELECT
          (SELECT array_agg(total_price::text || ' ' || status ORDER BY order_date) FROM orders) AS orders,
          (SELECT array_agg(quantity ORDER BY customer_id, product_id) FROM carts) AS carts,
          (SELECT array_agg(event_type::text || ' ' || occurred_at::text || ' ' || session_id ORDER BY occurred_at, event_type) FROM behavior_events) AS events,
          (SELECT array_agg(stock ORDER BY product_id) FROM products) AS stock`)
          .then((r) => r.rows[0]);
      // The log's prices equal the catalogue prices here, so the storefront's orders cost what the bulk ones do.
      expect(await state(replay)).toEqual(await state(bulk));
      const again = await importLog({ pool: replay.pool, db: replay.db, logger: replay.logger }, { ...options, replay: { speed: 1e9 } });
      expect(again.actions.total).toBe(0);
    } finally {
      await replay.drop();
    }
  });

  it('with concurrent writers keeps each customer in order, shares stock without deadlocks and records every action once', async () => {
    // 24 customers, each: two views, a cart addition and a two-line basket over products shared with the others,
    // the lines in opposite orders for alternate customers (the classic deadlock when stock rows lock in line order).
    const lines = [HEADER];
    const start = Date.parse('2026-03-01T10:00:00Z');
    const at = (n: number) => new Date(start + n * 1000).toISOString();
    for (let step = 0; step < 4; step++) {
      for (let u = 0; u < 24; u++) {
        const n = step * 24 + u;
        const [a, b] = u % 2 ? ['p1', 'p2'] : ['p2', 'p1'];
        if (step < 2) lines.push(`c${u},p${3 + ((u + step) % 5)},view,${at(n)},,,,Shelf,`);
        else if (step === 2) lines.push(`c${u},p1,cart,${at(n)},1,,,Shelf,`);
        else lines.push(`c${u},${a},purchase,${at(n)},1,1.00,b${u},Shelf,`, `c${u},${b},purchase,${at(n)},1,2.00,b${u},Shelf,`);
      }
    }
    const file = write('concurrent.csv', lines);
    const options = { file, mapping: parseColumnMapping(MAP), types: parseTypeMapping(TYPES), source: 'concurrent' };
    const bulk2 = await createTestDatabase('import_bulk_concurrent');
    const replay = await createTestDatabase('import_replay_concurrent');
    try {
      await importLog({ pool: bulk2.pool, db: bulk2.db, logger: bulk2.logger }, options);
      const summary = await importLog({ pool: replay.pool, db: replay.db, logger: replay.logger }, { ...options, replay: { speed: 1e9, writers: 8 } });
      expect(summary).toMatchObject({ actions: { total: 96, written: 96 }, stopped: false });
      expect(await countRows(replay.pool, SHOP_TABLES)).toEqual(await countRows(bulk2.pool, SHOP_TABLES));
      // Within each customer, the events were written (event ids) in the log's order (their times).
      const { rows } = await replay.pool.query<{ customer_id: number; by_id: string[]; by_time: string[] }>(
        `SELECT customer_id, array_agg(occurred_at::text ORDER BY event_id) AS by_id, array_agg(occurred_at::text ORDER BY occurred_at) AS by_time
           FROM behavior_events GROUP BY customer_id`,
      );
      expect(rows).toHaveLength(24);
      for (const row of rows) expect(row.by_id).toEqual(row.by_time);
      const stock = (db: TestDatabase) => db.pool.query('SELECT array_agg(stock ORDER BY product_id) AS stock FROM products').then((r) => r.rows[0]);
      expect(await stock(replay)).toEqual(await stock(bulk2));
      const orders = await replay.pool.query<{ n: string; items: string }>(
        "SELECT count(*) AS n, (SELECT count(*) FROM order_items) AS items FROM orders WHERE status <> 'cancelled'",
      );
      expect(orders.rows[0]).toEqual({ n: '24', items: '48' });

      // Batched (--batch-ms): the same rows as the bulk import, every action once, each customer in order.
      const batched = await createTestDatabase('import_batched');
      try {
        const slow = await importLog(
          { pool: batched.pool, db: batched.db, logger: batched.logger },
          { ...options, replay: { speed: 1000, batchMs: 20 } }, // the log's 96 s in ~0.1 s: several batches
        );
        expect(slow).toMatchObject({ actions: { total: 96, written: 96 }, stopped: false });
        expect(await countRows(batched.pool, SHOP_TABLES)).toEqual(await countRows(bulk2.pool, SHOP_TABLES));
        const order = await batched.pool.query<{ ok: boolean }>(
          `SELECT bool_and(by_id = by_time) AS ok FROM (SELECT array_agg(occurred_at ORDER BY event_id) AS by_id, array_agg(occurred_at ORDER BY occurred_at) AS by_time
             FROM behavior_events GROUP BY customer_id) x`,
        );
        expect(order.rows[0]!.ok).toBe(true);
      } finally {
        await batched.drop();
      }
    } finally {
      await replay.drop();
      await bulk2.drop();
    }
  });
});
