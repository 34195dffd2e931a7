import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateData } from '../../src/datagen/generate.js';
import { AppError } from '../../src/errors.js';
import type { PaymentGateway } from '../../src/shop/policy.js';
import { createStorefront } from '../../src/shop/storefront.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
let productId: number;
let otherProductId: number;
beforeAll(async () => {
  t = await createTestDatabase('shop');
  await generateData(t.pool, { categories: 3, products: 10, customers: 5, seed: 3 });
  await t.pool.query('UPDATE products SET is_active = true, stock = 10');
  productId = (await t.db.product.findFirstOrThrow({ orderBy: { productId: 'asc' } })).productId;
  otherProductId = productId + 1;
});
afterAll(() => t.drop());

const events = (customerId: number, type: string) => t.db.behaviorEvent.count({ where: { customerId, eventType: type as never } });
const always = (status: 'completed' | 'failed'): PaymentGateway => ({
  charge: () => ({ status, transactionId: `txn_${status}_${Math.random().toString(36).slice(2)}` }),
});

describe('storefront actions', () => {
  it('records a view and a category browse as behaviour events', async () => {
    await t.pool.query('UPDATE products SET price = 12.50 WHERE product_id = $1', [productId]);
    const view = await t.storefront.viewProduct(1, productId);
    expect(view).toMatchObject({ customerId: 1, productId, eventType: 'view_product', context: { price: '12.5' } });
    // What the action returns is the stored row as Prisma reads it (types included), the price as Prisma's Decimal prints it.
    const product = await t.db.product.findUniqueOrThrow({ where: { productId } });
    expect(view).toEqual(await t.db.behaviorEvent.findUniqueOrThrow({ where: { eventId: view.eventId } }));
    expect(view).toMatchObject({ categoryId: product.categoryId, orderId: null, context: { price: product.price.toString() } });
    const at = new Date('2026-03-01T10:00:00.123Z');
    const sessionId = '3f0b8a4e-5b7c-4d2e-9f1a-0c6d7e8f9a0b';
    const browse = await t.storefront.browseCategory(1, view.categoryId!, { at, sessionId });
    expect(browse).toEqual(await t.db.behaviorEvent.findUniqueOrThrow({ where: { eventId: browse.eventId } }));
    expect(browse).toMatchObject({ eventType: 'browse_category', productId: null, categoryId: view.categoryId, occurredAt: at, sessionId, context: null });
  });

  it('names what does not exist, the customer first, and records nothing then', async () => {
    const before = await t.db.behaviorEvent.count();
    await expect(t.storefront.viewProduct(999_999, 999_998)).rejects.toThrow(/Customer 999999/);
    await expect(t.storefront.viewProduct(1, 999_998)).rejects.toThrow(/Product 999998/);
    await expect(t.storefront.browseCategory(999_999, 999_998)).rejects.toThrow(/Customer 999999/);
    await expect(t.storefront.browseCategory(1, 999_998)).rejects.toThrow(/Category 999998/);
    await expect(t.storefront.browseCategory(1, 0)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await t.db.behaviorEvent.count()).toBe(before);
  });

  it('adds to the cart (quantities add up) with one event per action', async () => {
    await t.storefront.addToCart(2, productId, 2);
    const line = await t.storefront.addToCart(2, productId, 1);
    expect(line.quantity).toBe(3);
    expect(await events(2, 'add_to_cart')).toBe(2);
  });

  it('refuses more than the stock with OUT_OF_STOCK and changes nothing', async () => {
    await expect(t.storefront.addToCart(2, productId, 8)).rejects.toMatchObject({ code: 'OUT_OF_STOCK' });
    expect((await t.db.cart.findFirstOrThrow({ where: { customerId: 2, productId } })).quantity).toBe(3);
    expect(await events(2, 'add_to_cart')).toBe(2);
  });

  it('rejects unknown ids and bad quantities with typed errors', async () => {
    await expect(t.storefront.viewProduct(1, 999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(t.storefront.viewProduct(999_999, productId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(t.storefront.addToCart(1, productId, 0)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(t.storefront.addToCart(1, productId, 1.5)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(t.storefront.viewProduct(1, productId, { sessionId: 'nope' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(t.storefront.placeOrder(1, 'bitcoin' as never)).rejects.toBeInstanceOf(AppError);
  });

  it('places an order: stock reserved, total = Σ price × quantity, payment = total, shipment created, cart emptied', async () => {
    const paid = createStorefront({ db: t.db, payments: always('completed') });
    await paid.addToCart(3, productId, 2);
    await paid.addToCart(3, otherProductId, 1);
    const stockBefore = await t.db.product.findMany({ where: { productId: { in: [productId, otherProductId] } }, orderBy: { productId: 'asc' } });
    const order = await paid.placeOrder(3, 'paypal');
    const full = await t.db.order.findUniqueOrThrow({ where: { orderId: order.orderId }, include: { items: true, payment: true, shipment: true } });
    const sum = full.items.reduce((s, i) => s + Number(i.price) * i.quantity, 0);
    expect(Number(full.totalPrice)).toBeCloseTo(sum, 2);
    expect(full.payment).toMatchObject({ status: 'completed', paymentMethod: 'paypal' });
    expect(Number(full.payment!.amount)).toBe(Number(full.totalPrice));
    expect(full.status).toBe('paid');
    expect(full.shipment?.status).toBe('pending');
    expect(await t.db.cart.count({ where: { customerId: 3 } })).toBe(0);
    const stockAfter = await t.db.product.findMany({ where: { productId: { in: [productId, otherProductId] } }, orderBy: { productId: 'asc' } });
    expect(stockAfter.map((p) => p.stock)).toEqual([stockBefore[0]!.stock - 2, stockBefore[1]!.stock - 1]);
    expect(await t.db.behaviorEvent.count({ where: { orderId: order.orderId, eventType: 'place_order' } })).toBe(1);
  });

  it('cancels the order, keeps the cart and returns the stock when the payment is declined', async () => {
    const declined = createStorefront({ db: t.db, payments: always('failed') });
    await declined.addToCart(4, productId, 1);
    const before = (await t.db.product.findUniqueOrThrow({ where: { productId } })).stock;
    const order = await declined.placeOrder(4, 'credit_card');
    expect(order.status).toBe('cancelled');
    expect(order.shipmentId).toBeNull();
    expect((await t.db.payment.findUniqueOrThrow({ where: { paymentId: order.paymentId! } })).status).toBe('failed');
    expect(await t.db.cart.count({ where: { customerId: 4 } })).toBe(1);
    expect((await t.db.product.findUniqueOrThrow({ where: { productId } })).stock).toBe(before);
  });

  it('writes nothing when an order cannot be fulfilled (out of stock part-way through)', async () => {
    await t.storefront.addToCart(5, productId, 1);
    await t.storefront.addToCart(5, otherProductId, 1);
    await t.pool.query('UPDATE products SET stock = 0 WHERE product_id = $1', [otherProductId]);
    const before = await t.pool.query(
      'SELECT (SELECT count(*) FROM orders) o, (SELECT count(*) FROM payments) p, (SELECT stock FROM products WHERE product_id = $1) s',
      [productId],
    );
    await expect(t.storefront.placeOrder(5, 'paypal')).rejects.toMatchObject({ code: 'OUT_OF_STOCK' });
    const after = await t.pool.query(
      'SELECT (SELECT count(*) FROM orders) o, (SELECT count(*) FROM payments) p, (SELECT stock FROM products WHERE product_id = $1) s',
      [productId],
    );
    expect(after.rows[0]).toEqual(before.rows[0]);
    await t.pool.query('UPDATE products SET stock = 10 WHERE product_id = $1', [otherProductId]);
  });

  it('refuses to order an empty cart with EMPTY_CART', async () => {
    await expect(t.storefront.placeOrder(1, 'paypal')).rejects.toMatchObject({ code: 'EMPTY_CART' });
  });

  it('removes a cart line and adds to the wishlist idempotently, each with its event', async () => {
    const removed = await t.storefront.removeFromCart(5, productId);
    expect(removed.productId).toBe(productId);
    await expect(t.storefront.removeFromCart(5, productId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const a = await t.storefront.addToWishlist(5, productId);
    const b = await t.storefront.addToWishlist(5, productId);
    expect(b.wishlistId).toBe(a.wishlistId);
    expect(await events(5, 'remove_from_cart')).toBe(1);
    expect(await events(5, 'add_to_wishlist')).toBe(2);
  });
});

describe('storefront under concurrency', () => {
  let ids: number[];
  beforeAll(async () => {
    ({ customerIds: ids } = await generateData(t.pool, { categories: 0, products: 0, customers: 4, seed: 9 }));
    await t.pool.query('UPDATE products SET stock = 1000 WHERE product_id = $1', [productId]);
  });
  const payments = (customerId: number) => t.db.payment.count({ where: { customerId } });

  it('never loses a quantity when addToCart calls for one line run at once', async () => {
    const customerId = ids[0]!;
    await Promise.all(Array.from({ length: 12 }, () => t.storefront.addToCart(customerId, productId, 1)));
    expect((await t.db.cart.findFirstOrThrow({ where: { customerId, productId } })).quantity).toBe(12);
    expect(await events(customerId, 'add_to_cart')).toBe(12);
  });

  it('makes one order and one charge from two placeOrder calls for one cart at once; the other gets EMPTY_CART', async () => {
    const customerId = ids[1]!;
    await t.storefront.addToCart(customerId, productId, 2);
    const stock = (await t.db.product.findUniqueOrThrow({ where: { productId } })).stock;
    const results = await Promise.allSettled([t.storefront.placeOrder(customerId, 'paypal'), t.storefront.placeOrder(customerId, 'paypal')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'EMPTY_CART' });
    expect(await t.db.order.count({ where: { customerId } })).toBe(1);
    expect(await payments(customerId)).toBe(1);
    expect((await t.db.product.findUniqueOrThrow({ where: { productId } })).stock).toBe(stock - 2);
  });

  it('returns the same order for the same idempotency key, sequentially and at once, with one charge', async () => {
    const customerId = ids[2]!;
    const paid = createStorefront({ db: t.db, payments: always('completed') });
    await paid.addToCart(customerId, productId, 1);
    const key = crypto.randomUUID();
    const [a, b] = await Promise.all([
      paid.placeOrder(customerId, 'paypal', { idempotencyKey: key }),
      paid.placeOrder(customerId, 'paypal', { idempotencyKey: key }),
    ]);
    const c = await paid.placeOrder(customerId, 'paypal', { idempotencyKey: key });
    expect(b.orderId).toBe(a.orderId);
    expect(c).toEqual(a);
    expect(await t.db.order.count({ where: { customerId } })).toBe(1);
    expect(await payments(customerId)).toBe(1);
    expect(await t.db.behaviorEvent.count({ where: { customerId, eventType: 'place_order' } })).toBe(1);
    // The key belongs to its customer: another customer's same key is another order.
    await paid.addToCart(ids[3]!, productId, 1);
    expect((await paid.placeOrder(ids[3]!, 'paypal', { idempotencyKey: key })).orderId).not.toBe(a.orderId);
  });

  it('refuses a key reused for a different request (CONFLICT), a malformed key, and stores nothing for a failed attempt', async () => {
    const customerId = ids[2]!;
    const key = crypto.randomUUID();
    await expect(t.storefront.placeOrder(customerId, 'paypal', { idempotencyKey: key })).rejects.toMatchObject({ code: 'EMPTY_CART' });
    await t.storefront.addToCart(customerId, productId, 1);
    const order = await t.storefront.placeOrder(customerId, 'paypal', { idempotencyKey: key });
    await expect(t.storefront.placeOrder(customerId, 'credit_card', { idempotencyKey: key })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { field: 'idempotencyKey', orderId: order.orderId },
    });
    const buyNow = { idempotencyKey: key, items: [{ productId, quantity: 1 }] };
    await expect(t.storefront.placeOrder(customerId, 'paypal', buyNow)).rejects.toMatchObject({ code: 'CONFLICT' });
    for (const bad of ['', 'has space', 'x'.repeat(101), 'naïve']) {
      await expect(t.storefront.placeOrder(customerId, 'paypal', { idempotencyKey: bad })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        details: { field: 'idempotencyKey' },
      });
    }
  });
});
