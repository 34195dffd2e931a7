
import type pg from 'pg';
import { fromCents } from '../common/money.js';
import { createRng, type Rng } from '../common/random.js';
import { bulkInsert, reserveIds } from '../database/bulk.js';
import { createSimulatedGateway, fulfilmentAt, parseAddress, RESTOCK, trackingNumber } from '../shop/policy.js';
import { MixBalancer, Shopper } from './shopper.js';
import { RunStats } from './stats.js';
import type { World } from './world.js';

export interface HistoricalOptions {
  days: number;
  /** Average sessions per day; weekends and evenings get more, as in real shops. */
  sessionsPerDay: number;
  seed: number;
  /** End of the back-filled window (default: now). Fixing it makes a seeded run reproducible. */
  until?: Date;
}

export interface HistoricalDeps {
  pool: pg.Pool;
  world: World;
  signal?: AbortSignal;
  onDay?: (daysDone: number, stats: RunStats) => void;
}

const DAY_MS = 86_400_000;
/** Relative traffic by hour of day: quiet at night, peaks at lunch and in the evening. */
const HOURLY = [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 7, 8, 9, 8, 7, 7, 8, 9, 11, 13, 14, 12, 8, 4];

interface DayBuffers {
  events: unknown[][];
  orders: unknown[][];
  items: unknown[][];
  payments: unknown[][];
  shipments: unknown[][];
}

const EVENT_COLUMNS = [
  { name: 'customer_id', type: 'int4' }, { name: 'session_id', type: 'uuid' }, { name: 'event_type', type: 'behavior_event_type' },
  { name: 'product_id', type: 'int4' }, { name: 'category_id', type: 'int4' }, { name: 'order_id', type: 'int4' },
  { name: 'occurred_at', type: 'timestamptz' }, { name: 'context', type: 'jsonb' },
];

/**
 * Back-fills `days` of history with the same shoppers and rules as the live simulator, but on a virtual
 * clock and in bulk: each simulated day is one transaction (orders, items, payments, shipments, events,
 * and the resulting carts, wishlists and stock), written with set-based inserts.
 */
export async function runHistorical(deps: HistoricalDeps, options: HistoricalOptions): Promise<RunStats> {
  const stats = new RunStats();
  const rng = createRng(options.seed);
  const payments = createSimulatedGateway(rng.fork('payments'));
  const until = options.until ?? new Date();
  const start = until.getTime() - options.days * DAY_MS;
  const { world, pool } = deps;
  const balancer = new MixBalancer();

  const addresses = new Map((await pool.query<{ customer_id: number; address: string | null }>('SELECT customer_id, address FROM customers')).rows.map((r) => [r.customer_id, r.address]));
  const carts = new Map<number, Map<number, { quantity: number; addedAt: Date }>>();
  const wishlists = new Map<number, Map<number, Date>>();
  for (const r of (await pool.query<{ customer_id: number; product_id: number; quantity: number; added_at: Date }>('SELECT customer_id, product_id, quantity, added_at FROM carts')).rows) {
    if (!carts.has(r.customer_id)) carts.set(r.customer_id, new Map());
    carts.get(r.customer_id)!.set(r.product_id, { quantity: r.quantity, addedAt: r.added_at });
  }
  for (const r of (await pool.query<{ customer_id: number; product_id: number; added_at: Date }>('SELECT customer_id, product_id, added_at FROM wishlists')).rows) {
    if (!wishlists.has(r.customer_id)) wishlists.set(r.customer_id, new Map());
    wishlists.get(r.customer_id)!.set(r.product_id, r.added_at);
  }

  for (let day = 0; day < options.days && !deps.signal?.aborted; day++) {
    const dayStart = start + day * DAY_MS;
    const dayRng = rng.fork(`day${day}`);
    const weekday = new Date(dayStart).getUTCDay();
    const volume = options.sessionsPerDay * (weekday === 0 || weekday === 6 ? 1.25 : 0.9) * Math.exp(dayRng.normal(0, 0.1));
    const sessions = Math.max(0, Math.round(volume));
    const buf: DayBuffers = { events: [], orders: [], items: [], payments: [], shipments: [] };
    const pendingOrders: { orderIndex: number }[] = [];
    const touchedCustomers = new Set<number>();
    const touchedProducts = new Set<number>();

    for (const product of world.products.values()) {
      if (product.isActive && product.stock < RESTOCK.threshold) {
        product.stock += RESTOCK.quantity;
        touchedProducts.add(product.productId);
      }
    }

    const starts = Array.from({ length: sessions }, () => dayStart + (dayRng.weightedIndex(HOURLY) + dayRng.next()) * 3_600_000).sort((a, b) => a - b);
    for (const sessionStart of starts) {
      const tastes = dayRng.pick(world.customers);
      const customerId = tastes.customerId;
      touchedCustomers.add(customerId);
      const shopper = new Shopper(world, tastes, dayRng, balancer);
      const cart = carts.get(customerId) ?? new Map<number, { quantity: number; addedAt: Date }>();
      carts.set(customerId, cart);
      const wishes = wishlists.get(customerId) ?? new Map<number, Date>();
      wishlists.set(customerId, wishes);
      for (const [productId, line] of cart) shopper.cart.set(productId, line.quantity);
      for (const productId of wishes.keys()) shopper.wishlist.add(productId);
      const sessionId = uuidFrom(dayRng);
      let clock = sessionStart;
      const steps = Math.max(1, dayRng.poisson(tastes.activity));
      for (let step = 0; step < steps; step++) {
        clock += 5_000 + dayRng.exponential(40_000);
        const at = new Date(Math.min(clock, until.getTime() - 1));
        const type = shopper.chooseAction();
        stats.attempt(type);
        const action = shopper.plan(type);
        if (!action) {
          stats.skip(type, 'not_possible');
          shopper.couldNot(type);
          continue;
        }
        let paid: boolean | undefined;
        switch (action.type) {
          case 'view_product': {
            const p = world.products.get(action.productId)!;
            buf.events.push([customerId, sessionId, type, p.productId, p.categoryId, null, at, JSON.stringify({ price: fromCents(p.priceCents) })]);
            break;
          }
          case 'browse_category':
            buf.events.push([customerId, sessionId, type, null, action.categoryId, null, at, null]);
            break;
          case 'add_to_cart': {
            const p = world.products.get(action.productId)!;
            const line = cart.get(p.productId);
            const total = (line?.quantity ?? 0) + action.quantity;
            if (total > p.stock) {
              stats.skip(type, 'out_of_stock');
              shopper.couldNot(type);
              continue;
            }
            cart.set(p.productId, { quantity: total, addedAt: line?.addedAt ?? at });
            buf.events.push([customerId, sessionId, type, p.productId, p.categoryId, null, at, JSON.stringify({ quantity: action.quantity, cartQuantity: total })]);
            break;
          }
          case 'remove_from_cart': {
            const p = world.products.get(action.productId)!;
            const line = cart.get(p.productId)!;
            cart.delete(p.productId);
            buf.events.push([customerId, sessionId, type, p.productId, p.categoryId, null, at, JSON.stringify({ quantity: line.quantity })]);
            break;
          }
          case 'add_to_wishlist': {
            const p = world.products.get(action.productId)!;
            if (!wishes.has(p.productId)) wishes.set(p.productId, at);
            buf.events.push([customerId, sessionId, type, p.productId, p.categoryId, null, at, null]);
            break;
          }
          case 'place_order': {
            const lines = action.buyNow ? [action.buyNow] : [...cart].map(([productId, l]) => ({ productId, quantity: l.quantity }));
            const products = lines.map((l) => world.products.get(l.productId)!);
            if (products.some((p, i) => !p.isActive || p.stock < lines[i]!.quantity)) {
              stats.skip(type, 'out_of_stock');
              shopper.couldNot(type);
              continue;
            }
            const totalCents = products.reduce((sum, p, i) => sum + p.priceCents * lines[i]!.quantity, 0);
            const charge = payments.charge(action.paymentMethod, totalCents);
            paid = charge.status === 'completed';
            const orderIndex = buf.orders.length;
            let shipmentIndex: number | null = null;
            if (paid) {
              products.forEach((p, i) => { p.stock -= lines[i]!.quantity; touchedProducts.add(p.productId); });
              const state = fulfilmentAt(at, until);
              shipmentIndex = buf.shipments.length;
              const addr = parseAddress(addresses.get(customerId) ?? null);
              buf.shipments.push([state.shipmentDate, addr.address, addr.city, addr.state, addr.country, addr.zipCode, state.shipmentStatus, trackingNumber(dayRng), customerId, at, state.shipmentDate ?? at]);
              if (!action.buyNow) cart.clear();
              buf.orders.push([at, fromCents(totalCents), state.orderStatus, customerId, orderIndex, shipmentIndex]);
            } else {
              buf.orders.push([at, fromCents(totalCents), 'cancelled', customerId, orderIndex, null]);
            }
            buf.payments.push([at, action.paymentMethod, fromCents(totalCents), charge.status, charge.transactionId, customerId]);
            lines.forEach((l, i) => buf.items.push([l.quantity, fromCents(products[i]!.priceCents), orderIndex, l.productId]));
            pendingOrders.push({ orderIndex });
            buf.events.push([customerId, sessionId, type, lines.length === 1 ? lines[0]!.productId : null, null, orderIndex, at,
              JSON.stringify({ total: fromCents(totalCents), paymentStatus: charge.status, paymentMethod: action.paymentMethod, items: lines })]);
            paid ? stats.ordersPaid++ : stats.ordersFailed++;
            break;
          }
        }
        shopper.applied(action, { paid });
        stats.perform(type);
      }
      stats.sessions++;
    }
    await writeDay(pool, buf, touchedCustomers, touchedProducts, carts, wishlists, world, stats);
    deps.onDay?.(day + 1, stats);
  }
  return stats;
}

function uuidFrom(rng: Rng): string {
  const hex = Array.from({ length: 4 }, () => Math.floor(rng.next() * 2 ** 32).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** One transaction per simulated day: ids are reserved from the sequences so rows can reference each other. */
async function writeDay(
  pool: pg.Pool, buf: DayBuffers, touchedCustomers: Set<number>, touchedProducts: Set<number>,
  carts: Map<number, Map<number, { quantity: number; addedAt: Date }>>, wishlists: Map<number, Map<number, Date>>,
  world: World, stats: RunStats,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const orderIds = await reserveIds(client, 'orders', 'order_id', buf.orders.length);
    const paymentIds = await reserveIds(client, 'payments', 'payment_id', buf.payments.length);
    const shipmentIds = await reserveIds(client, 'shipments', 'shipment_id', buf.shipments.length);
    // Reserved ids make transaction and tracking numbers unique even when a seed is replayed.
    const payments = buf.payments.map((row, i) => [paymentIds[i], ...row.slice(0, 4), `${row[4]}-${paymentIds[i]!.toString(36)}`, row[5]]);
    const shipments = buf.shipments.map((row, i) => [shipmentIds[i], ...row.slice(0, 7), `${row[7]}-${shipmentIds[i]!.toString(36)}`, ...row.slice(8)]);
    const orders = buf.orders.map(([at, total, status, customerId, paymentIndex, shipmentIndex], i) =>
      [orderIds[i], at, total, status, customerId, paymentIds[paymentIndex as number], shipmentIndex === null ? null : shipmentIds[shipmentIndex as number]]);
    const items = buf.items.map(([q, price, orderIndex, productId]) => [q, price, orderIds[orderIndex as number], productId]);
    const events = buf.events.map((row) => (row[5] === null ? row : [...row.slice(0, 5), orderIds[row[5] as number], ...row.slice(6)]));

    stats.addRows('payments', await bulkInsert(client, 'payments', [
      { name: 'payment_id', type: 'int4' }, { name: 'payment_date', type: 'timestamptz' }, { name: 'payment_method', type: 'payment_method' },
      { name: 'amount', type: 'numeric' }, { name: 'status', type: 'payment_status' }, { name: 'transaction_id', type: 'text' }, { name: 'customer_id', type: 'int4' }], payments));
    stats.addRows('shipments', await bulkInsert(client, 'shipments', [
      { name: 'shipment_id', type: 'int4' }, { name: 'shipment_date', type: 'timestamptz' }, { name: 'address', type: 'text' }, { name: 'city', type: 'text' },
      { name: 'state', type: 'text' }, { name: 'country', type: 'text' }, { name: 'zip_code', type: 'text' }, { name: 'status', type: 'shipment_status' },
      { name: 'tracking_number', type: 'text' }, { name: 'customer_id', type: 'int4' }, { name: 'created_at', type: 'timestamptz' }, { name: 'updated_at', type: 'timestamptz' }], shipments));
    stats.addRows('orders', await bulkInsert(client, 'orders', [
      { name: 'order_id', type: 'int4' }, { name: 'order_date', type: 'timestamptz' }, { name: 'total_price', type: 'numeric' }, { name: 'status', type: 'order_status' },
      { name: 'customer_id', type: 'int4' }, { name: 'payment_id', type: 'int4' }, { name: 'shipment_id', type: 'int4' }], orders));
    stats.addRows('order_items', await bulkInsert(client, 'order_items', [
      { name: 'quantity', type: 'int4' }, { name: 'price', type: 'numeric' }, { name: 'order_id', type: 'int4' }, { name: 'product_id', type: 'int4' }], items));
    stats.addRows('behavior_events', await bulkInsert(client, 'behavior_events', EVENT_COLUMNS, events));

    const customers = [...touchedCustomers];
    await client.query('DELETE FROM carts WHERE customer_id = ANY($1::int4[])', [customers]);
    await client.query('DELETE FROM wishlists WHERE customer_id = ANY($1::int4[])', [customers]);
    const cartRows = customers.flatMap((c) => [...(carts.get(c) ?? [])].map(([p, l]) => [l.quantity, l.addedAt, c, p]));
    const wishRows = customers.flatMap((c) => [...(wishlists.get(c) ?? [])].map(([p, at]) => [at, c, p]));
    stats.addRows('carts', await bulkInsert(client, 'carts', [{ name: 'quantity', type: 'int4' }, { name: 'added_at', type: 'timestamptz' }, { name: 'customer_id', type: 'int4' }, { name: 'product_id', type: 'int4' }], cartRows));
    stats.addRows('wishlists', await bulkInsert(client, 'wishlists', [{ name: 'added_at', type: 'timestamptz' }, { name: 'customer_id', type: 'int4' }, { name: 'product_id', type: 'int4' }], wishRows));
    const products = [...touchedProducts];
    if (products.length) {
      await client.query(
        `UPDATE products p SET stock = s.stock, updated_at = now() FROM unnest($1::int4[], $2::int4[]) AS s(product_id, stock) WHERE p.product_id = s.product_id`,
        [products, products.map((id) => world.products.get(id)!.stock)],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

