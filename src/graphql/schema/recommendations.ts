import { Repeater } from 'graphql-yoga';
import { AppError } from '../../errors.js';
import type { Recommendation as Served } from '../../recommend/serving.js';
import { similarProducts, trendingProducts } from '../../recommend/serving.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { entityRef } from './models.js';

/*
 * Recommendations served from the features the Flink job keeps in PostgreSQL (src/recommend/serving.ts).
 * The product of each entry is loaded once per list (one query for all of them) and only when selected.
 */

interface Entry {
  productId: number;
  score: number;
  reason: string;
  experimentId?: number;
  variantId?: number;
  variant?: string;
  /** Loads every product of the list at once, the first time one is asked for. */
  products: () => Promise<Map<number, object>>;
}

const Recommendation = builder.objectRef<Entry>('Recommendation').implement({
  description: 'A recommended product with its score and a human-readable reason.',
  fields: (t) => ({
    productId: t.exposeInt('productId'),
    product: t.field({ type: entityRef('Product'), resolve: async (e) => (await e.products()).get(e.productId)! }),
    score: t.exposeFloat('score', { description: 'Relative score (higher is better); comparable within one list' }),
    reason: t.exposeString('reason', { description: 'Why: "bought together with X", "popular in Y this hour", …' }),
    experimentId: t.int({
      nullable: true,
      description: 'The running experiment that served this list (pass it to recordRecommendationImpressions and recordRecommendationClick)',
      resolve: (e) => e.experimentId ?? null,
    }),
    variantId: t.int({ nullable: true, description: "The customer's variant in that experiment", resolve: (e) => e.variantId ?? null }),
    variant: t.string({ nullable: true, description: 'The name of that variant', resolve: (e) => e.variant ?? null }),
  }),
});

const TrendWindow = builder.enumType('TrendWindow', {
  values: { HOUR: { description: 'Live interactions over the sliding last hour' }, ALL_TIME: { description: 'All interactions since the start' } } as const,
});

function withProducts(ctx: GraphQLContext, items: Omit<Entry, 'products'>[]): Entry[] {
  let loaded: Promise<Map<number, object>> | undefined;
  const products = () =>
    (loaded ??= ctx.db.product
      .findMany({ where: { productId: { in: items.map((i) => i.productId) } } })
      .then((rows) => new Map(rows.map((r) => [r.productId, r]))));
  return items.map((i) => ({ ...i, products }));
}

const checkFirst = (first: number) => {
  if (first < 1 || first > 100) throw new AppError('BAD_USER_INPUT', `first must be between 1 and 100, got ${first}.`);
};

/** The arguments of a customer's list, shared by the query and the subscription. */
const listArgs = builder.args((t) => ({
  customerId: t.int({ required: true }),
  first: t.int({ required: false, defaultValue: 10 }),
  categoryId: t.int({ required: false, description: 'only products of this category' }),
}));

/** The checked list options of those arguments. */
function listOptions(args: { first?: number | null; categoryId?: number | null }): { first: number; categoryId?: number } {
  checkFirst(args.first ?? 10);
  return { first: args.first ?? 10, categoryId: args.categoryId ?? undefined };
}

builder.queryFields((t) => ({
  recommendations: t.field({
    type: [Recommendation],
    description:
      'Personalised recommendations for a customer: similar to what they recently viewed or bought, popular in their favourite categories, trending for new customers. Excludes what they bought, have in the cart, and inactive or out-of-stock products.',
    args: listArgs,
    resolve: async (_root, args, ctx) => {
      const list = await ctx.recommendations.get(args.customerId, listOptions(args));
      return withProducts(ctx, list);
    },
  }),
  similarProducts: t.field({
    type: [Recommendation],
    description: 'Products most often viewed or bought together with this one (cosine-normalised co-occurrence).',
    args: { productId: t.arg.int({ required: true }), first: t.arg.int({ required: false, defaultValue: 10 }) },
    resolve: async (_root, args, ctx) => {
      checkFirst(args.first ?? 10);
      return withProducts(ctx, await similarProducts(ctx.pool, args.productId, args.first ?? 10));
    },
  }),
  trendingProducts: t.field({
    type: [Recommendation],
    description: 'Trending products: over the last hour (live) or all time, optionally in one category.',
    args: {
      categoryId: t.arg.int({ required: false }),
      window: t.arg({ type: TrendWindow, required: false, defaultValue: 'HOUR' }),
      first: t.arg.int({ required: false, defaultValue: 10 }),
    },
    resolve: async (_root, args, ctx) => {
      checkFirst(args.first ?? 10);
      return withProducts(
        ctx,
        await trendingProducts(ctx.pool, { categoryId: args.categoryId ?? undefined, window: args.window ?? 'HOUR', first: args.first ?? 10 }),
      );
    },
  }),
}));

interface ListUpdate {
  customerId: number;
  list: Served[];
  computedAt: Date;
}

const RecommendationsUpdate = builder.objectRef<ListUpdate & { entries: Entry[] }>('RecommendationsUpdate').implement({
  description: "A customer's recommendation list: the current one when subscribing, then each new one.",
  fields: (t) => ({
    customerId: t.exposeInt('customerId'),
    recommendations: t.field({ type: [Recommendation], resolve: (u) => u.entries }),
    computedAt: t.field({ type: 'DateTime', resolve: (u) => u.computedAt }),
  }),
});

builder.subscriptionField('recommendationsUpdated', (t) =>
  t.field({
    type: RecommendationsUpdate,
    description:
      "Pushes the customer's recommendations when subscribing and again whenever their products, order or reasons change: after the customer acts (once Flink has written the features) or changes the cart.",
    args: listArgs,
    subscribe: async (_root, args, ctx) => {
      const options = listOptions(args);
      // An unknown customer or a bad category fails the subscription at once, as a typed error.
      await ctx.recommendations.get(args.customerId, options);
      return new Repeater<ListUpdate>(async (push, stop) => {
        const unwatch = await ctx.recommendations
          .watch(args.customerId, options, (list) => {
            void push({ customerId: args.customerId, list, computedAt: new Date() });
          })
          .catch((error: unknown) => {
            stop(error);
            return undefined;
          });
        await stop;
        unwatch?.();
      });
    },
    resolve: (update: ListUpdate, _args, ctx) => ({ ...update, entries: withProducts(ctx, update.list) }),
  }),
);
