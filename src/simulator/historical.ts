import type pg from 'pg';
import { fromCents } from '../common/money.js';
import { createRng, type Rng } from '../common/random.js';
import { copyRows, reserveIds, skipForeignKeyTriggers } from '../database/bulk.js';
import { inTransaction } from '../database/transaction.js';
import { fulfilmentAt, parseAddress, RESTOCK, trackingNumber } from '../shop/policy.js';
import { createSimulatedGateway } from './behaviour.js';
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

/** Everything one simulated day writes, materialised so the next day can be simulated meanwhile. */
interface DayBatch extends DayBuffers {
  /** (customer, product) cart lines that changed today: deleted, then re-inserted if they still exist. */
  cartKeys: [number, number][];
  cartRows: unknown[][];
  wishRows: unknown[][];
  /** (product, stock) at the end of the day for products whose stock changed. */
  stock: [number, number][];
}

const EVENT_COLUMNS = ['customer_id', 'session_id', 'event_type', 'product_id', 'category_id', 'order_id', 'occurred_at', 'context'];

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

  const addresses = new Map(
    (await pool.query<{ customer_id: number; address: string | null }>('SELECT customer_id, address FROM customers')).rows.map((r) => [
      r.customer_id,
      r.address,
    ]),
  );
  const carts = new Map<number, Map<number, { quantity: number; addedAt: Date }>>();
  const wishlists = new Map<number, Map<number, Date>>();
  for (const r of (
    await pool.query<{ customer_id: number; product_id: number; quantity: number; added_at: Date }>(
      'SELECT customer_id, product_id, quantity, added_at FROM carts',
    )
  ).rows) {
    if (!carts.has(r.customer_id)) carts.set(r.customer_id, new Map());
    carts.get(r.customer_id)!.set(r.product_id, { quantity: r.quantity, addedAt: r.added_at });
  }
  for (const r of (await pool.query<{ customer_id: number; product_id: number; added_at: Date }>('SELECT customer_id, product_id, added_at FROM wishlists'))
    .rows) {
    if (!wishlists.has(r.customer_id)) wishlists.set(r.customer_id, new Map());
    wishlists.get(r.customer_id)!.set(r.product_id, r.added_at);
  }

  let pending: Promise<void> | undefined;
  for (let day = 0; day < options.days && !deps.signal?.aborted; day++) {
    const dayStart = start + day * DAY_MS;
    const dayRng = rng.fork(`day${day}`);
    const weekday = new Date(dayStart).getUTCDay();
    const volume = options.sessionsPerDay * (weekday === 0 || weekday === 6 ? 1.25 : 0.9) * Math.exp(dayRng.normal(0, 0.1));
    const sessions = Math.max(0, Math.round(volume));
    const buf: DayBuffers = { events: [], orders: [], items: [], payments: [], shipments: [] };
    const pendingOrders: { orderIndex: number }[] = [];
    // Only what changes today is written: cart lines touched, new wishlist entries, stock of touched products.
    const changedCartLines = new Set<string>();
    const newWishes: unknown[][] = [];
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
        const { type, action } = shopper.step(stats);
        if (!action) continue;
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
            changedCartLines.add(`${customerId}:${p.productId}`);
            buf.events.push([
              customerId,
              sessionId,
              type,
              p.productId,
              p.categoryId,
              null,
              at,
              JSON.stringify({ quantity: action.quantity, cartQuantity: total }),
            ]);
            break;
          }
          case 'remove_from_cart': {
            const p = world.products.get(action.productId)!;
            const line = cart.get(p.productId)!;
            cart.delete(p.productId);
            changedCartLines.add(`${customerId}:${p.productId}`);
            buf.events.push([customerId, sessionId, type, p.productId, p.categoryId, null, at, JSON.stringify({ quantity: line.quantity })]);
            break;
          }
          case 'add_to_wishlist': {
            const p = world.products.get(action.productId)!;
            if (!wishes.has(p.productId)) {
              wishes.set(p.productId, at);
              newWishes.push([at, customerId, p.productId]);
            }
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
              products.forEach((p, i) => {
                p.stock -= lines[i]!.quantity;
                touchedProducts.add(p.productId);
              });
              const state = fulfilmentAt(at, until);
              shipmentIndex = buf.shipments.length;
              const addr = parseAddress(addresses.get(customerId) ?? null);
              buf.shipments.push([
                state.shipmentDate,
                addr.address,
                addr.city,
                addr.state,
                addr.country,
                addr.zipCode,
                state.shipmentStatus,
                trackingNumber(dayRng),
                customerId,
                at,
                state.shipmentDate ?? at,
              ]);
              if (!action.buyNow) {
                for (const productId of cart.keys()) changedCartLines.add(`${customerId}:${productId}`);
                cart.clear();
              }
              buf.orders.push([at, fromCents(totalCents), state.orderStatus, customerId, orderIndex, shipmentIndex]);
            } else {
              buf.orders.push([at, fromCents(totalCents), 'cancelled', customerId, orderIndex, null]);
            }
            buf.payments.push([at, action.paymentMethod, fromCents(totalCents), charge.status, charge.transactionId, customerId]);
            for (const [i, l] of lines.entries()) buf.items.push([l.quantity, fromCents(products[i]!.priceCents), orderIndex, l.productId]);
            pendingOrders.push({ orderIndex });
            buf.events.push([
              customerId,
              sessionId,
              type,
              lines.length === 1 ? lines[0]!.productId : null,
              null,
              orderIndex,
              at,
              JSON.stringify({ total: fromCents(totalCents), paymentStatus: charge.status, paymentMethod: action.paymentMethod, items: lines }),
            ]);
            paid ? stats.ordersPaid++ : stats.ordersFailed++;
            break;
          }
        }
        shopper.applied(action, { paid });
        stats.perform(type);
      }
      stats.sessions++;
    }
    // Snapshot today's end state now: tomorrow's simulation runs while today's transaction commits.
    const cartKeys = [...changedCartLines].map((k) => k.split(':').map(Number) as [number, number]);
    const batch: DayBatch = {
      ...buf,
      cartKeys,
      cartRows: cartKeys.flatMap(([c, p]) => {
        const line = carts.get(c)?.get(p);
        return line ? [[line.quantity, line.addedAt, c, p]] : [];
      }),
      wishRows: newWishes,
      stock: [...touchedProducts].map((id) => [id, world.products.get(id)!.stock] as [number, number]),
    };
    await pending;
    const daysDone = day + 1;
    pending = writeDay(pool, batch).then(() => deps.onDay?.(daysDone, stats));
    // A failed write surfaces at the next await; keep it from being reported as unhandled meanwhile.
    pending.catch(() => undefined);
  }
  await pending;
  return stats;
}

function uuidFrom(rng: Rng): string {
  const hex = Array.from({ length: 4 }, () =>
    Math.floor(rng.next() * 2 ** 32)
      .toString(16)
      .padStart(8, '0'),
  ).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** One transaction per simulated day: ids are reserved from the sequences so rows can reference each other. */
async function writeDay(pool: pg.Pool, buf: DayBatch): Promise<void> {
  await inTransaction(pool, async (client) => {
    // Every id written here was just read from the database, so the per-row foreign-key triggers (two
    // thirds of the insert cost) are skipped for this transaction when the role may.
    await skipForeignKeyTriggers(client);
    const orderIds = await reserveIds(client, 'orders', 'order_id', buf.orders.length);
    const paymentIds = await reserveIds(client, 'payments', 'payment_id', buf.payments.length);
    const shipmentIds = await reserveIds(client, 'shipments', 'shipment_id', buf.shipments.length);
    // Reserved ids make transaction and tracking numbers unique even when a seed is replayed.
    const payments = buf.payments.map((row, i) => [paymentIds[i], ...row.slice(0, 4), `${row[4]}-${paymentIds[i]!.toString(36)}`, row[5]]);
    const shipments = buf.shipments.map((row, i) => [shipmentIds[i], ...row.slice(0, 7), `${row[7]}-${shipmentIds[i]!.toString(36)}`, ...row.slice(8)]);
    const orders = buf.orders.map(([at, total, status, customerId, paymentIndex, shipmentIndex], i) => [
      orderIds[i],
      at,
      total,
      status,
      customerId,
      paymentIds[paymentIndex as number],
      shipmentIndex === null ? null : shipmentIds[shipmentIndex as number],
    ]);
    const items = buf.items.map(([q, price, orderIndex, productId]) => [q, price, orderIds[orderIndex as number], productId]);
    const events = buf.events.map((row) => (row[5] === null ? row : [...row.slice(0, 5), orderIds[row[5] as number], ...row.slice(6)]));

    await copyRows(client, 'payments', ['payment_id', 'payment_date', 'payment_method', 'amount', 'status', 'transaction_id', 'customer_id'], payments);
    await copyRows(
      client,
      'shipments',
      [
        'shipment_id',
        'shipment_date',
        'address',
        'city',
        'state',
        'country',
        'zip_code',
        'status',
        'tracking_number',
        'customer_id',
        'created_at',
        'updated_at',
      ],
      shipments,
    );
    await copyRows(client, 'orders', ['order_id', 'order_date', 'total_price', 'status', 'customer_id', 'payment_id', 'shipment_id'], orders);
    await copyRows(client, 'order_items', ['quantity', 'price', 'order_id', 'product_id'], items);
    await copyRows(client, 'behavior_events', EVENT_COLUMNS, events);

    if (buf.cartKeys.length) {
      await client.query(
        'DELETE FROM carts c USING unnest($1::int4[], $2::int4[]) AS d(customer_id, product_id) WHERE c.customer_id = d.customer_id AND c.product_id = d.product_id',
        [buf.cartKeys.map(([c]) => c), buf.cartKeys.map(([, p]) => p)],
      );
    }
    await copyRows(client, 'carts', ['quantity', 'added_at', 'customer_id', 'product_id'], buf.cartRows);
    await copyRows(client, 'wishlists', ['added_at', 'customer_id', 'product_id'], buf.wishRows);
    if (buf.stock.length) {
      await client.query(
        `UPDATE products p SET stock = s.stock, updated_at = now() FROM unnest($1::int4[], $2::int4[]) AS s(product_id, stock) WHERE p.product_id = s.product_id`,
        [buf.stock.map(([id]) => id), buf.stock.map(([, stock]) => stock)],
      );
    }
  });
}
