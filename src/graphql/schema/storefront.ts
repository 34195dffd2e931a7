import { notFound } from '../../errors.js';
import { PAYMENT_METHODS } from '../../shop/policy.js';
import { builder } from '../builder.js';
import { enums } from './enums.js';

/*
 * Storefront actions: the same domain code the simulator uses. Each resolver calls the storefront (one
 * transaction with its behaviour event) and then re-reads the row with exactly the selection asked for.
 */

const ShownRecommendationInput = builder.inputType('ShownRecommendationInput', {
  description: 'One product of a recommendation list as the client showed it.',
  fields: (t) => ({
    productId: t.int({ required: true }),
    position: t.int({ required: true, description: '1 for the first product of the list' }),
    reason: t.string({ required: false, description: 'The reason shown with it (from Recommendation.reason)' }),
    source: t.string({ required: false, description: 'similar, revisit, affinity, trending, learned, or your own label' }),
  }),
});

/** A client's report of a shown product, with the defaults for what it left out (the storefront checks it). */
const shownItem = (item: { productId: number; position: number; reason?: string | null; source?: string | null }) => ({
  productId: item.productId,
  position: item.position,
  reason: item.reason ?? '',
  source: item.source ?? 'client',
});

const sessionArg = { description: 'Client session UUID; a new one is used when omitted', required: false } as const;
const meta = (a: { sessionId?: string | null }) => ({ sessionId: a.sessionId ?? undefined });

/** The experiment arm a shown list came from (Recommendation.experimentId and variantId), when one ran. */
const ARM_ARGS = {
  experimentId: { required: false, description: 'Recommendation.experimentId of the list shown, when an experiment served it' },
  variantId: { required: false, description: 'Recommendation.variantId of the list shown (with experimentId)' },
} as const;
const arm = (a: { experimentId?: number | null; variantId?: number | null }) => ({
  experimentId: a.experimentId ?? undefined,
  variantId: a.variantId ?? undefined,
});

builder.mutationFields((t) => ({
  recordRecommendationImpressions: t.int({
    description:
      'Records that a customer was shown a list of recommendations: one recommendation_impression event per product, in one transaction. Returns how many were recorded. Clicks refer to the same listId.',
    args: {
      customerId: t.arg.int({ required: true }),
      listId: t.arg.string({ required: true, description: 'A UUID the client makes per shown list' }),
      recommender: t.arg.string({ required: false, defaultValue: 'ours', description: 'What produced the list (ours, or an A/B variant)' }),
      items: t.arg({ type: [ShownRecommendationInput], required: true }),
      sessionId: t.arg.string(sessionArg),
      experimentId: t.arg.int(ARM_ARGS.experimentId),
      variantId: t.arg.int(ARM_ARGS.variantId),
    },
    resolve: (_root, a, ctx) =>
      ctx.storefront.showRecommendations(
        a.customerId,
        { listId: a.listId, recommender: a.recommender ?? 'ours', items: a.items.map(shownItem), ...arm(a) },
        meta(a),
      ),
  }),
  recordRecommendationClick: t.prismaField({
    type: 'BehaviorEvent',
    description:
      'Records that a customer opened a product from a recommendation list: a recommendation_click (tied to the list by listId and position) and the view_product it leads to, in one transaction. Returns the click.',
    args: {
      customerId: t.arg.int({ required: true }),
      listId: t.arg.string({ required: true }),
      recommender: t.arg.string({ required: false, defaultValue: 'ours' }),
      item: t.arg({ type: ShownRecommendationInput, required: true }),
      sessionId: t.arg.string(sessionArg),
      experimentId: t.arg.int(ARM_ARGS.experimentId),
      variantId: t.arg.int(ARM_ARGS.variantId),
    },
    resolve: async (query, _root, a, ctx) => {
      const { click } = await ctx.storefront.clickRecommendation(
        a.customerId,
        { listId: a.listId, recommender: a.recommender ?? 'ours', ...arm(a) },
        shownItem(a.item),
        meta(a),
      );
      return ctx.db.behaviorEvent.findUniqueOrThrow({ ...query, where: { eventId: click.eventId } });
    },
  }),
  viewProduct: t.prismaField({
    type: 'BehaviorEvent',
    description: 'Records that a customer viewed a product.',
    args: { customerId: t.arg.int({ required: true }), productId: t.arg.int({ required: true }), sessionId: t.arg.string(sessionArg) },
    resolve: async (query, _root, a, ctx) => {
      const event = await ctx.storefront.viewProduct(a.customerId, a.productId, meta(a));
      return ctx.db.behaviorEvent.findUniqueOrThrow({ ...query, where: { eventId: event.eventId } });
    },
  }),
  browseCategory: t.prismaField({
    type: 'BehaviorEvent',
    description: 'Records that a customer browsed a category.',
    args: { customerId: t.arg.int({ required: true }), categoryId: t.arg.int({ required: true }), sessionId: t.arg.string(sessionArg) },
    resolve: async (query, _root, a, ctx) => {
      const event = await ctx.storefront.browseCategory(a.customerId, a.categoryId, meta(a));
      return ctx.db.behaviorEvent.findUniqueOrThrow({ ...query, where: { eventId: event.eventId } });
    },
  }),
  addToCart: t.prismaField({
    type: 'Cart',
    description: "Adds a quantity of a product to the customer's cart (within stock); returns the cart line.",
    args: {
      customerId: t.arg.int({ required: true }),
      productId: t.arg.int({ required: true }),
      quantity: t.arg.int({ required: false, defaultValue: 1 }),
      sessionId: t.arg.string(sessionArg),
    },
    resolve: async (query, _root, a, ctx) => {
      const line = await ctx.storefront.addToCart(a.customerId, a.productId, a.quantity ?? 1, meta(a));
      return ctx.db.cart.findUniqueOrThrow({ ...query, where: { cartId: line.cartId } });
    },
  }),
  removeFromCart: t.prismaField({
    type: 'Cart',
    description: 'Removes a product from the cart; returns the line as it was.',
    args: { customerId: t.arg.int({ required: true }), productId: t.arg.int({ required: true }), sessionId: t.arg.string(sessionArg) },
    resolve: async (query, _root, a, ctx) => {
      // Read the line with its relations first: after the delete there is nothing to read.
      const before = await ctx.db.cart.findUnique({ ...query, where: { customerId_productId: { customerId: a.customerId, productId: a.productId } } });
      await ctx.storefront.removeFromCart(a.customerId, a.productId, meta(a));
      // The storefront refuses a product that is not in the cart, so `before` was there.
      if (!before) throw notFound('Cart line for product', a.productId);
      return before;
    },
  }),
  addToWishlist: t.prismaField({
    type: 'Wishlist',
    description: "Adds a product to the customer's wishlist (idempotent).",
    args: { customerId: t.arg.int({ required: true }), productId: t.arg.int({ required: true }), sessionId: t.arg.string(sessionArg) },
    resolve: async (query, _root, a, ctx) => {
      const wish = await ctx.storefront.addToWishlist(a.customerId, a.productId, meta(a));
      return ctx.db.wishlist.findUniqueOrThrow({ ...query, where: { wishlistId: wish.wishlistId } });
    },
  }),
  placeOrder: t.prismaField({
    type: 'Order',
    description:
      'Orders the cart: reserves stock, charges the payment, ships when paid. A declined payment gives a cancelled order and keeps the cart. Two calls at once for one cart make one order (the second finds the cart empty: EMPTY_CART). Pass an idempotencyKey to retry safely: the same key returns the same order, never a second charge.',
    args: {
      customerId: t.arg.int({ required: true }),
      paymentMethod: t.arg({ type: enums.PaymentMethod, required: false, defaultValue: PAYMENT_METHODS[0] }),
      sessionId: t.arg.string(sessionArg),
      idempotencyKey: t.arg.string({
        required: false,
        description:
          'Optional, 1-100 visible ASCII characters, one per order attempt (a UUID). Repeating it returns the order it made; repeating it with another payment method is a CONFLICT. A failed attempt (EMPTY_CART, OUT_OF_STOCK) stores nothing.',
      }),
    },
    resolve: async (query, _root, a, ctx) => {
      const order = await ctx.storefront.placeOrder(a.customerId, a.paymentMethod ?? PAYMENT_METHODS[0], {
        ...meta(a),
        idempotencyKey: a.idempotencyKey ?? undefined,
      });
      return ctx.db.order.findUniqueOrThrow({ ...query, where: { orderId: order.orderId } });
    },
  }),
}));
