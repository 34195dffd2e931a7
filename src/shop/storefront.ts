import { createHash, randomUUID } from 'node:crypto';
import { fromCents, toCents } from '../common/money.js';
import type { Db } from '../database/database.js';
import { AppError, notFound } from '../errors.js';
import type { BehaviorEvent, Cart, Order, Prisma, Wishlist } from '../generated/prisma/client.js';
import { PAYMENT_METHODS, type PaymentGateway, type PaymentMethodName, parseAddress, trackingNumber } from './policy.js';

type Tx = Prisma.TransactionClient;

/** Who did it and when; `at` lets the simulator run on a compressed clock. */
export interface ActionMeta {
  sessionId?: string;
  at?: Date;
}

/** One recommended product as it was shown: its place in the list and why it was recommended. */
export interface ShownRecommendation {
  productId: number;
  /** 1 = the top of the list. */
  position: number;
  reason: string;
  source: string;
}

/**
 * A list of recommendations shown to a customer. `listId` ties each click to the impressions of the list;
 * `recommender` names what produced it (ours, or a baseline); `runId` marks lists a simulation showed.
 */
export interface RecommendationList {
  listId: string;
  recommender: string;
  items: ShownRecommendation[];
  runId?: string;
  /** The experiment and variant that served the list (src/experiments); both or neither. */
  experimentId?: number;
  variantId?: number;
}

export interface StorefrontDeps {
  db: Db;
  payments: PaymentGateway;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MAX_QUANTITY = 100;

function positiveId(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    throw new AppError('BAD_USER_INPUT', `${name} must be a positive integer, got ${value}.`, { field: name });
  }
}

function sessionOf(meta: ActionMeta): string {
  if (meta.sessionId === undefined) return randomUUID();
  if (!UUID.test(meta.sessionId)) throw new AppError('BAD_USER_INPUT', `sessionId must be a UUID, got "${meta.sessionId}".`, { field: 'sessionId' });
  return meta.sessionId;
}

/**
 * The customer must exist. With `lock`, their row is also locked until the transaction ends (FOR NO KEY UPDATE:
 * it does not block other transactions' inserts that reference the customer, such as a product view). Every
 * action that reads and then writes the customer's cart or orders locks it, so two at once for one customer run
 * one after the other: concurrent addToCart calls add up, and two placeOrder calls for one cart make one order.
 */
async function requireCustomer(tx: Tx, customerId: number, { lock = false } = {}): Promise<void> {
  positiveId('customerId', customerId);
  const found = lock
    ? (await tx.$queryRaw<unknown[]>`SELECT 1 FROM customers WHERE customer_id = ${customerId} FOR NO KEY UPDATE`).length > 0
    : (await tx.customer.findUnique({ where: { customerId }, select: { customerId: true } })) !== null;
  if (!found) throw notFound('Customer', customerId);
}

/** An idempotency key: 1-100 visible ASCII characters (a UUID is a good one). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,100}$/;

/** What a placeOrder request asks for; the same key must come with the same request. */
function requestFingerprint(paymentMethod: string, items: { productId: number; quantity: number }[] | undefined): string {
  const what = items ? [...items].sort((a, b) => a.productId - b.productId).map((i) => [i.productId, i.quantity]) : 'cart';
  return createHash('sha256')
    .update(JSON.stringify([paymentMethod, what]))
    .digest('hex');
}

async function requireProduct(tx: Tx, productId: number) {
  positiveId('productId', productId);
  const product = await tx.product.findUnique({
    where: { productId },
    select: { productId: true, categoryId: true, isActive: true, stock: true, price: true, name: true },
  });
  if (!product) throw notFound('Product', productId);
  return product;
}

/** Most products a reported list may hold, and the longest reason or source text. */
const LIST_LIMITS = { items: 100, text: 200 } as const;

/** What a shown list or a click reports: a UUID listId, a recommender name, positions and short texts. */
function checkShown(list: Omit<RecommendationList, 'items'>, items: readonly ShownRecommendation[], field = 'items'): void {
  if (!UUID.test(list.listId)) throw new AppError('BAD_USER_INPUT', `listId must be a UUID, got "${list.listId}".`, { field: 'listId' });
  if (!/^[\w.-]{1,40}$/.test(list.recommender)) {
    throw new AppError('BAD_USER_INPUT', `recommender must be 1-40 letters, digits, '.', '_' or '-', got "${list.recommender}".`, { field: 'recommender' });
  }
  if (items.length > LIST_LIMITS.items)
    throw new AppError('BAD_USER_INPUT', `${field} may hold at most ${LIST_LIMITS.items} products, got ${items.length}.`, { field });
  items.forEach((item, i) => {
    const at = `${field}[${i}]`;
    if (!Number.isInteger(item.position) || item.position < 1 || item.position > LIST_LIMITS.items) {
      throw new AppError('BAD_USER_INPUT', `${at}.position must be between 1 and ${LIST_LIMITS.items}, got ${item.position}.`, { field: `${at}.position` });
    }
    for (const key of ['reason', 'source'] as const) {
      if (item[key].length > LIST_LIMITS.text)
        throw new AppError('BAD_USER_INPUT', `${at}.${key} is longer than ${LIST_LIMITS.text} characters.`, { field: `${at}.${key}` });
    }
  });
}

function recommendationContext(list: Omit<RecommendationList, 'items'>, item: ShownRecommendation): Prisma.InputJsonObject {
  return {
    listId: list.listId,
    position: item.position,
    reason: item.reason,
    source: item.source,
    recommender: list.recommender,
    ...(list.runId && { runId: list.runId }),
    ...(list.experimentId !== undefined && { experimentId: list.experimentId, variantId: list.variantId }),
  };
}

/**
 * A list reported with an experiment arm must name a running experiment, one of its variants, and the variant
 * the customer was served (their recorded assignment), so the per-variant results count only what each variant
 * really showed.
 */
async function checkArm(tx: Tx, customerId: number, list: Omit<RecommendationList, 'items'>): Promise<void> {
  const { experimentId, variantId } = list;
  if (experimentId === undefined && variantId === undefined) return;
  if (experimentId === undefined || variantId === undefined)
    throw new AppError('BAD_USER_INPUT', 'experimentId and variantId go together: pass both (from the recommendations you showed) or neither.', {
      field: experimentId === undefined ? 'experimentId' : 'variantId',
    });
  positiveId('experimentId', experimentId);
  positiveId('variantId', variantId);
  const rows = await tx.$queryRaw<{ status: string; variant_ok: boolean; assigned: number | null }[]>`
    SELECT e.status::text AS status,
           EXISTS (SELECT 1 FROM experiment_variants v WHERE v.experiment_id = e.experiment_id AND v.variant_id = ${variantId}) AS variant_ok,
           (SELECT a.variant_id FROM experiment_assignments a WHERE a.experiment_id = e.experiment_id AND a.customer_id = ${customerId}) AS assigned
    FROM experiments e WHERE e.experiment_id = ${experimentId}`;
  const r = rows[0];
  if (!r)
    throw new AppError('NOT_FOUND', `Experiment ${experimentId} does not exist: take experimentId from the recommendations you showed.`, {
      field: 'experimentId',
    });
  if (r.status !== 'running')
    throw new AppError('CONFLICT', `Experiment ${experimentId} is ${r.status}: impressions and clicks are recorded for it only while it runs.`, {
      field: 'experimentId',
    });
  if (!r.variant_ok)
    throw new AppError(
      'BAD_USER_INPUT',
      `Variant ${variantId} is not a variant of experiment ${experimentId}: take variantId from the recommendations you showed.`,
      {
        field: 'variantId',
      },
    );
  if (r.assigned !== variantId)
    throw new AppError(
      'BAD_USER_INPUT',
      r.assigned === null
        ? `Customer ${customerId} has not been served experiment ${experimentId}: show them the list the recommendations query returns first.`
        : `Customer ${customerId} is in variant ${r.assigned} of experiment ${experimentId}, not ${variantId}: report the variant the recommendations query returned.`,
      { field: 'variantId' },
    );
}

/**
 * The shop's customer actions. Each runs in one transaction that writes the state change and its
 * behaviour event together, so CDC never sees one without the other. The simulator and the GraphQL
 * mutations both call these.
 */
export function createStorefront({ db, payments }: StorefrontDeps) {
  const event = (tx: Tx, data: Prisma.BehaviorEventUncheckedCreateInput) => tx.behaviorEvent.create({ data });

  return {
    async viewProduct(customerId: number, productId: number, meta: ActionMeta = {}): Promise<BehaviorEvent> {
      const sessionId = sessionOf(meta);
      return db.$transaction(async (tx) => {
        await requireCustomer(tx, customerId);
        const product = await requireProduct(tx, productId);
        return event(tx, {
          customerId,
          sessionId,
          eventType: 'view_product',
          productId,
          categoryId: product.categoryId,
          occurredAt: meta.at,
          context: { price: product.price.toString() },
        });
      });
    },

    /** Records one recommendation_impression per shown product, all in one transaction. */
    async showRecommendations(customerId: number, list: RecommendationList, meta: ActionMeta = {}): Promise<number> {
      const sessionId = sessionOf(meta);
      checkShown(list, list.items);
      if (list.items.length === 0) return 0;
      return db.$transaction(async (tx) => {
        await requireCustomer(tx, customerId);
        await checkArm(tx, customerId, list);
        for (const item of list.items) positiveId('productId', item.productId);
        const products = await tx.product.findMany({
          where: { productId: { in: list.items.map((i) => i.productId) } },
          select: { productId: true, categoryId: true },
        });
        const categoryOf = new Map(products.map((p) => [p.productId, p.categoryId]));
        const missing = list.items.find((i) => !categoryOf.has(i.productId));
        if (missing) throw notFound('Product', missing.productId);
        const { count } = await tx.behaviorEvent.createMany({
          data: list.items.map((item) => ({
            customerId,
            sessionId,
            eventType: 'recommendation_impression' as const,
            productId: item.productId,
            categoryId: categoryOf.get(item.productId)!,
            occurredAt: meta.at,
            context: recommendationContext(list, item),
          })),
        });
        return count;
      });
    },

    /**
     * The customer opens a product from a recommendation list: a recommendation_click (tied to the list's
     * impressions by listId and position), then the product view it leads to, in one transaction.
     */
    async clickRecommendation(
      customerId: number,
      list: Omit<RecommendationList, 'items'>,
      item: ShownRecommendation,
      meta: ActionMeta = {},
    ): Promise<{ click: BehaviorEvent; view: BehaviorEvent }> {
      const sessionId = sessionOf(meta);
      checkShown(list, [item], 'item');
      return db.$transaction(async (tx) => {
        await requireCustomer(tx, customerId);
        await checkArm(tx, customerId, list);
        const product = await requireProduct(tx, item.productId);
        // The click and the page it opens happen at the same moment.
        const common = { customerId, sessionId, productId: item.productId, categoryId: product.categoryId, occurredAt: meta.at ?? new Date() };
        const click = await event(tx, { ...common, eventType: 'recommendation_click', context: recommendationContext(list, item) });
        const view = await event(tx, { ...common, eventType: 'view_product', context: { price: product.price.toString(), listId: list.listId } });
        return { click, view };
      });
    },

    async browseCategory(customerId: number, categoryId: number, meta: ActionMeta = {}): Promise<BehaviorEvent> {
      const sessionId = sessionOf(meta);
      positiveId('categoryId', categoryId);
      return db.$transaction(async (tx) => {
        await requireCustomer(tx, customerId);
        const category = await tx.category.findUnique({ where: { categoryId }, select: { categoryId: true } });
        if (!category) throw notFound('Category', categoryId);
        return event(tx, { customerId, sessionId, eventType: 'browse_category', categoryId, occurredAt: meta.at });
      });
    },

    /** Adds to the customer's cart line for the product (quantities add up), within available stock. */
    async addToCart(customerId: number, productId: number, quantity: number, meta: ActionMeta = {}): Promise<Cart> {
      const sessionId = sessionOf(meta);
      if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
        throw new AppError('BAD_USER_INPUT', `quantity must be an integer from 1 to ${MAX_QUANTITY}, got ${quantity}.`, { field: 'quantity' });
      }
      return db.$transaction(async (tx) => {
        await requireCustomer(tx, customerId, { lock: true });
        const product = await requireProduct(tx, productId);
        if (!product.isActive) throw new AppError('BAD_USER_INPUT', `Product ${productId} is no longer sold; pick an active product.`, { field: 'productId' });
        const existing = await tx.cart.findUnique({ where: { customerId_productId: { customerId, productId } } });
        const total = (existing?.quantity ?? 0) + quantity;
        if (total > product.stock) {
          throw new AppError('OUT_OF_STOCK', `Only ${product.stock} of product ${productId} in stock (cart would hold ${total}). Lower the quantity.`, {
            productId,
            stock: product.stock,
          });
        }
        const cart = await tx.cart.upsert({
          where: { customerId_productId: { customerId, productId } },
          create: { customerId, productId, quantity, addedAt: meta.at },
          update: { quantity: total },
        });
        await event(tx, {
          customerId,
          sessionId,
          eventType: 'add_to_cart',
          productId,
          categoryId: product.categoryId,
          occurredAt: meta.at,
          context: { quantity, cartQuantity: total },
        });
        return cart;
      });
    },

    /** Removes the whole cart line; returns the line as it was. */
    async removeFromCart(customerId: number, productId: number, meta: ActionMeta = {}): Promise<Cart> {
      const sessionId = sessionOf(meta);
      return db.$transaction(async (tx) => {
        await requireCustomer(tx, customerId, { lock: true });
        const product = await requireProduct(tx, productId);
        const line = await tx.cart.findUnique({ where: { customerId_productId: { customerId, productId } } });
        if (!line)
          throw new AppError('NOT_FOUND', `Product ${productId} is not in customer ${customerId}'s cart. Query the customer's carts first.`, { productId });
        await tx.cart.delete({ where: { cartId: line.cartId } });
        await event(tx, {
          customerId,
          sessionId,
          eventType: 'remove_from_cart',
          productId,
          categoryId: product.categoryId,
          occurredAt: meta.at,
          context: { quantity: line.quantity },
        });
        return line;
      });
    },

    /** Idempotent: adding a product that is already on the wishlist returns the existing entry (still an event). */
    async addToWishlist(customerId: number, productId: number, meta: ActionMeta = {}): Promise<Wishlist> {
      const sessionId = sessionOf(meta);
      return db.$transaction(async (tx) => {
        await requireCustomer(tx, customerId, { lock: true });
        const product = await requireProduct(tx, productId);
        const wish = await tx.wishlist.upsert({
          where: { customerId_productId: { customerId, productId } },
          create: { customerId, productId, addedAt: meta.at },
          update: {},
        });
        await event(tx, { customerId, sessionId, eventType: 'add_to_wishlist', productId, categoryId: product.categoryId, occurredAt: meta.at });
        return wish;
      });
    },

    /**
     * Orders the cart (or, for "buy now", the given items): reserves stock, charges the payment, and on
     * success creates the shipment and empties the cart. A declined payment leaves a cancelled order and
     * the cart untouched, and gives the stock back.
     *
     * With an `idempotencyKey`, the same key (per customer) returns the order it made the first time, with no
     * second charge; the same key with a different payment method or items is refused (CONFLICT). A request
     * that fails (an empty cart, no stock) stores nothing, so it may be retried with its key.
     */
    async placeOrder(
      customerId: number,
      paymentMethod: PaymentMethodName,
      meta: ActionMeta & { items?: { productId: number; quantity: number }[]; idempotencyKey?: string } = {},
    ): Promise<Order> {
      const sessionId = sessionOf(meta);
      if (!PAYMENT_METHODS.includes(paymentMethod)) {
        throw new AppError('BAD_USER_INPUT', `paymentMethod must be one of ${PAYMENT_METHODS.join(', ')}.`, { field: 'paymentMethod' });
      }
      const key = meta.idempotencyKey;
      if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
        throw new AppError('BAD_USER_INPUT', 'idempotencyKey must be 1-100 visible ASCII characters (a UUID per order attempt is a good key).', {
          field: 'idempotencyKey',
        });
      }
      // Only a keyed request is remembered: its key and what it asked for.
      const request = key === undefined ? undefined : { idempotencyKey: key, fingerprint: requestFingerprint(paymentMethod, meta.items) };
      return db.$transaction(async (tx) => {
        await requireCustomer(tx, customerId, { lock: true });
        if (request) {
          const earlier = await tx.orderRequest.findUnique({
            where: { customerId_idempotencyKey: { customerId, idempotencyKey: request.idempotencyKey } },
            include: { order: true },
          });
          if (earlier && earlier.fingerprint !== request.fingerprint) {
            throw new AppError(
              'CONFLICT',
              `idempotencyKey "${key}" already placed order ${earlier.orderId} with a different payment method or items. Use a new key for a new order.`,
              { field: 'idempotencyKey', orderId: earlier.orderId },
            );
          }
          if (earlier) return earlier.order;
        }
        const fromCart = meta.items === undefined;
        const lines = fromCart
          ? await tx.cart.findMany({ where: { customerId }, select: { productId: true, quantity: true }, orderBy: { cartId: 'asc' } })
          : meta.items!;
        if (lines.length === 0) throw new AppError('EMPTY_CART', `Customer ${customerId}'s cart is empty. Add products with addToCart first.`);
        const at = meta.at ?? new Date();
        let totalCents = 0;
        const items: { productId: number; quantity: number; price: string; categoryId: number }[] = [];
        // Stock rows are locked in product order, so concurrent orders sharing products cannot deadlock.
        for (const line of [...lines].sort((a, b) => a.productId - b.productId)) {
          const product = await requireProduct(tx, line.productId);
          const reserved = await tx.product.updateMany({
            where: { productId: line.productId, isActive: true, stock: { gte: line.quantity } },
            data: { stock: { decrement: line.quantity } },
          });
          if (reserved.count === 0) {
            throw new AppError(
              'OUT_OF_STOCK',
              `Product ${line.productId} has ${product.stock} in stock, ${line.quantity} ordered. Lower the quantity or remove it from the cart.`,
              { productId: line.productId, stock: product.stock },
            );
          }
          totalCents += toCents(product.price) * line.quantity;
          items.push({ productId: line.productId, quantity: line.quantity, price: product.price.toString(), categoryId: product.categoryId });
        }
        const charge = payments.charge(paymentMethod, totalCents);
        const payment = await tx.payment.create({
          data: { paymentMethod, amount: fromCents(totalCents), status: charge.status, transactionId: charge.transactionId, customerId, paymentDate: at },
        });
        let shipmentId: number | undefined;
        if (charge.status === 'completed') {
          const customer = await tx.customer.findUniqueOrThrow({ where: { customerId }, select: { address: true } });
          const shipment = await tx.shipment.create({
            data: { ...parseAddress(customer.address), status: 'pending', trackingNumber: trackingNumber(), customerId, createdAt: at },
          });
          shipmentId = shipment.shipmentId;
          if (fromCart) await tx.cart.deleteMany({ where: { customerId } });
        } else {
          for (const item of items) await tx.product.update({ where: { productId: item.productId }, data: { stock: { increment: item.quantity } } });
        }
        const order = await tx.order.create({
          data: {
            customerId,
            orderDate: at,
            totalPrice: fromCents(totalCents),
            status: charge.status === 'completed' ? 'paid' : 'cancelled',
            paymentId: payment.paymentId,
            shipmentId,
            items: { create: items.map(({ productId, quantity, price }) => ({ productId, quantity, price })) },
            ...(request && { request: { create: { customerId, ...request } } }),
          },
        });
        await event(tx, {
          customerId,
          sessionId,
          eventType: 'place_order',
          orderId: order.orderId,
          occurredAt: at,
          productId: items.length === 1 ? items[0]!.productId : undefined,
          context: {
            total: fromCents(totalCents),
            paymentStatus: charge.status,
            paymentMethod,
            items: items.map(({ productId, quantity }) => ({ productId, quantity })),
          },
        });
        return order;
      });
    },
  };
}

export type Storefront = ReturnType<typeof createStorefront>;
