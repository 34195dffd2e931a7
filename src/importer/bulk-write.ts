import type pg from 'pg';
import { fromCents } from '../common/money.js';
import { copyRows, reserveIds } from '../database/bulk.js';
import { parseAddress, trackingNumber } from '../shop/policy.js';
import type { ResolvedKeys } from './keys.js';
import { IMPORTED_PAYMENT_METHOD, importedTransactionId } from './placeholders.js';
import type { ImportPlan } from './plan.js';

const EVENT_COLUMNS = ['customer_id', 'session_id', 'event_type', 'product_id', 'category_id', 'order_id', 'occurred_at', 'context'];

/** Rows written per table by the bulk writer. */
export type TableCounts = Record<string, number>;

/**
 * Writes a plan's actions at COPY speed inside the caller's transaction, with the rows and event contexts
 * the storefront would have written for the same actions (storefront.ts), so CDC, Flink and evaluation
 * cannot tell the two apart. Differences, by design: line prices are the log's own (the storefront charges
 * the catalogue price), and no stock check can fail (imported products are stocked for any log).
 */
export async function writeBulk(client: pg.PoolClient, source: string, plan: ImportPlan, keys: ResolvedKeys): Promise<TableCounts> {
  const counts: TableCounts = {};
  const customerOf = (user: string) => keys.customers.get(user)!;
  const productOf = (item: string) => keys.products.get(item)!;

  // Cart quantities add up, as the storefront's do: start from the lines the customers already have.
  const cartQuantity = new Map<string, number>();
  const known = [...new Set(plan.actions.filter((a) => a.kind === 'add_to_cart').map((a) => customerOf(a.user)))];
  if (known.length) {
    const { rows } = await client.query<{ customer_id: number; product_id: number; quantity: number }>(
      'SELECT customer_id, product_id, quantity FROM carts WHERE customer_id = ANY($1::int4[])',
      [known],
    );
    for (const r of rows) cartQuantity.set(`${r.customer_id}:${r.product_id}`, r.quantity);
  }

  const orderActions = plan.actions.filter((a) => a.kind === 'order');
  const orderIds = await reserveIds(client, 'orders', 'order_id', orderActions.length);
  const paymentIds = await reserveIds(client, 'payments', 'payment_id', orderActions.length);
  const shipmentIds = await reserveIds(client, 'shipments', 'shipment_id', orderActions.length);
  const unknown = parseAddress(null);

  const events: unknown[][] = [];
  const carts = new Map<string, [number, Date, number, number]>();
  const wishes = new Map<string, [Date, number, number]>();
  const orders: unknown[][] = [];
  const items: unknown[][] = [];
  const payments: unknown[][] = [];
  const shipments: unknown[][] = [];
  const sold = new Map<number, number>();
  const orderKeys: [string, number][] = [];
  let o = 0;

  for (const action of plan.actions) {
    const customerId = customerOf(action.user);
    const at = new Date(action.at);
    if (action.kind === 'order') {
      const [orderId, paymentId, shipmentId] = [orderIds[o]!, paymentIds[o]!, shipmentIds[o]!];
      o++;
      let totalCents = 0;
      const lines = action.lines.map((line) => {
        const p = productOf(line.item);
        const priceCents = line.priceCents ?? p.priceCents;
        totalCents += priceCents * line.quantity;
        sold.set(p.productId, (sold.get(p.productId) ?? 0) + line.quantity);
        items.push([line.quantity, fromCents(priceCents), orderId, p.productId]);
        return { productId: p.productId, quantity: line.quantity };
      });
      const total = fromCents(totalCents);
      payments.push([paymentId, at, IMPORTED_PAYMENT_METHOD, total, 'completed', importedTransactionId(), customerId]);
      shipments.push([
        shipmentId,
        null,
        unknown.address,
        unknown.city,
        unknown.state,
        unknown.country,
        unknown.zipCode,
        'pending',
        `${trackingNumber()}-${shipmentId.toString(36)}`,
        customerId,
        at,
        at,
      ]);
      orders.push([orderId, at, total, 'paid', customerId, paymentId, shipmentId]);
      orderKeys.push([action.orderKey, orderId]);
      events.push([
        customerId,
        action.sessionId,
        'place_order',
        lines.length === 1 ? lines[0]!.productId : null,
        null,
        orderId,
        at,
        JSON.stringify({ total, paymentStatus: 'completed', paymentMethod: IMPORTED_PAYMENT_METHOD, items: lines }),
      ]);
      continue;
    }
    const p = productOf(action.item);
    const pair = `${customerId}:${p.productId}`;
    if (action.kind === 'view_product') {
      events.push([customerId, action.sessionId, 'view_product', p.productId, p.categoryId, null, at, JSON.stringify({ price: fromCents(p.priceCents) })]);
    } else if (action.kind === 'add_to_wishlist') {
      if (!wishes.has(pair)) wishes.set(pair, [at, customerId, p.productId]);
      events.push([customerId, action.sessionId, 'add_to_wishlist', p.productId, p.categoryId, null, at, null]);
    } else if (action.kind === 'add_to_cart') {
      const total = (cartQuantity.get(pair) ?? 0) + action.quantity;
      cartQuantity.set(pair, total);
      const line = carts.get(pair);
      carts.set(pair, [total, line?.[1] ?? at, customerId, p.productId]);
      events.push([
        customerId,
        action.sessionId,
        'add_to_cart',
        p.productId,
        p.categoryId,
        null,
        at,
        JSON.stringify({ quantity: action.quantity, cartQuantity: total }),
      ]);
    }
  }

  counts.payments = await copyRows(
    client,
    'payments',
    ['payment_id', 'payment_date', 'payment_method', 'amount', 'status', 'transaction_id', 'customer_id'],
    payments,
  );
  counts.shipments = await copyRows(
    client,
    'shipments',
    ['shipment_id', 'shipment_date', 'address', 'city', 'state', 'country', 'zip_code', 'status', 'tracking_number', 'customer_id', 'created_at', 'updated_at'],
    shipments,
  );
  counts.orders = await copyRows(client, 'orders', ['order_id', 'order_date', 'total_price', 'status', 'customer_id', 'payment_id', 'shipment_id'], orders);
  counts.order_items = await copyRows(client, 'order_items', ['quantity', 'price', 'order_id', 'product_id'], items);
  counts.behavior_events = await copyRows(client, 'behavior_events', EVENT_COLUMNS, events);

  if (carts.size) {
    // A customer who already has the line (an earlier import) gets the summed quantity, as addToCart does.
    const rows = [...carts.values()];
    const { rows: written } = await client.query<{ inserted: boolean }>(
      `INSERT INTO carts (quantity, added_at, customer_id, product_id) SELECT * FROM unnest($1::int4[], $2::timestamptz[], $3::int4[], $4::int4[])
       ON CONFLICT (customer_id, product_id) DO UPDATE SET quantity = excluded.quantity RETURNING (xmax = 0) AS inserted`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
    );
    counts.carts = written.filter((r) => r.inserted).length;
  }
  if (wishes.size) {
    const rows = [...wishes.values()];
    const result = await client.query(
      `INSERT INTO wishlists (added_at, customer_id, product_id) SELECT * FROM unnest($1::timestamptz[], $2::int4[], $3::int4[]) ON CONFLICT (customer_id, product_id) DO NOTHING`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );
    counts.wishlists = result.rowCount ?? 0;
  }
  if (sold.size) {
    // Orders take their quantities off the stock, as placeOrder does (imported stock never runs out).
    await client.query(
      'UPDATE products p SET stock = GREATEST(p.stock - s.q, 0), updated_at = now() FROM unnest($1::int4[], $2::int4[]) AS s(id, q) WHERE p.product_id = s.id',
      [[...sold.keys()], [...sold.values()]],
    );
  }
  if (orderKeys.length) {
    // A basket that an earlier file already imported keeps pointing at its first order; the new ones are copied.
    const { rows: known } = await client.query<{ key: string }>("SELECT key FROM import_keys WHERE source = $1 AND kind = 'order' AND key = ANY($2::text[])", [
      source,
      orderKeys.map(([k]) => k),
    ]);
    const taken = new Set(known.map((r) => r.key));
    counts.import_keys = await copyRows(
      client,
      'import_keys',
      ['source', 'kind', 'key', 'id'],
      orderKeys.filter(([k]) => !taken.has(k)).map(([k, id]) => [source, 'order', k, id]),
    );
  }
  counts.import_rows = await copyRows(
    client,
    'import_rows',
    ['source', 'fingerprint'],
    plan.actions.flatMap((a) => a.fingerprints.map((f) => [source, f])),
  );
  return counts;
}
