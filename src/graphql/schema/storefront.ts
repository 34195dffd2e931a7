import { PAYMENT_METHODS } from '../../shop/policy.js';
import { builder } from '../builder.js';
import { enums } from './enums.js';
import { rethrowTyped } from './models.js';

/*
 * Storefront actions: the same domain code the simulator uses. Each resolver calls the storefront (one
 * transaction with its behaviour event) and then re-reads the row with exactly the selection asked for.
 */

const ids = (t: any, ...names: string[]) => Object.fromEntries(names.map((n) => [n, t.arg.int({ required: true })]));
const session = (t: any) => ({ sessionId: t.arg.string({ required: false, description: 'Client session UUID; a new one is used when omitted' }) });

builder.mutationFields((t: any) => ({
  viewProduct: t.prismaField({
    type: 'BehaviorEvent',
    description: 'Records that a customer viewed a product.',
    args: { ...ids(t, 'customerId', 'productId'), ...session(t) },
    resolve: async (query: object, _r: unknown, a: any, ctx: any) => {
      const event = await ctx.storefront.viewProduct(a.customerId, a.productId, { sessionId: a.sessionId ?? undefined }).catch(rethrowTyped);
      return ctx.db.behaviorEvent.findUniqueOrThrow({ ...query, where: { eventId: event.eventId } });
    },
  }),
  browseCategory: t.prismaField({
    type: 'BehaviorEvent',
    description: 'Records that a customer browsed a category.',
    args: { ...ids(t, 'customerId', 'categoryId'), ...session(t) },
    resolve: async (query: object, _r: unknown, a: any, ctx: any) => {
      const event = await ctx.storefront.browseCategory(a.customerId, a.categoryId, { sessionId: a.sessionId ?? undefined }).catch(rethrowTyped);
      return ctx.db.behaviorEvent.findUniqueOrThrow({ ...query, where: { eventId: event.eventId } });
    },
  }),
  addToCart: t.prismaField({
    type: 'Cart',
    description: "Adds a quantity of a product to the customer's cart (within stock); returns the cart line.",
    args: { ...ids(t, 'customerId', 'productId'), quantity: t.arg.int({ required: false, defaultValue: 1 }), ...session(t) },
    resolve: async (query: object, _r: unknown, a: any, ctx: any) => {
      const line = await ctx.storefront.addToCart(a.customerId, a.productId, a.quantity ?? 1, { sessionId: a.sessionId ?? undefined }).catch(rethrowTyped);
      return ctx.db.cart.findUniqueOrThrow({ ...query, where: { cartId: line.cartId } });
    },
  }),
  removeFromCart: t.prismaField({
    type: 'Cart',
    description: 'Removes a product from the cart; returns the line as it was.',
    args: { ...ids(t, 'customerId', 'productId'), ...session(t) },
    resolve: async (query: object, _r: unknown, a: any, ctx: any) => {
      // Read the line with its relations first: after the delete there is nothing to read.
      const before = await ctx.db.cart.findUnique({ ...query, where: { customerId_productId: { customerId: a.customerId, productId: a.productId } } });
      await ctx.storefront.removeFromCart(a.customerId, a.productId, { sessionId: a.sessionId ?? undefined }).catch(rethrowTyped);
      return before;
    },
  }),
  addToWishlist: t.prismaField({
    type: 'Wishlist',
    description: "Adds a product to the customer's wishlist (idempotent).",
    args: { ...ids(t, 'customerId', 'productId'), ...session(t) },
    resolve: async (query: object, _r: unknown, a: any, ctx: any) => {
      const wish = await ctx.storefront.addToWishlist(a.customerId, a.productId, { sessionId: a.sessionId ?? undefined }).catch(rethrowTyped);
      return ctx.db.wishlist.findUniqueOrThrow({ ...query, where: { wishlistId: wish.wishlistId } });
    },
  }),
  placeOrder: t.prismaField({
    type: 'Order',
    description: 'Orders the cart: reserves stock, charges the payment, ships when paid. A declined payment gives a cancelled order and keeps the cart.',
    args: { ...ids(t, 'customerId'), paymentMethod: t.arg({ type: enums.PaymentMethod, required: false, defaultValue: PAYMENT_METHODS[0] }), ...session(t) },
    resolve: async (query: object, _r: unknown, a: any, ctx: any) => {
      const order = await ctx.storefront.placeOrder(a.customerId, a.paymentMethod, { sessionId: a.sessionId ?? undefined }).catch(rethrowTyped);
      return ctx.db.order.findUniqueOrThrow({ ...query, where: { orderId: order.orderId } });
    },
  }),
}));
