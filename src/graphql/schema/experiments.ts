import { Repeater } from 'graphql-yoga';
import type { ExperimentRow } from '../../experiments/experiments.js';
import type { VariantResult } from '../../experiments/results.js';
import { ExperimentStatus } from '../../generated/prisma/enums.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';

/*
 * Online experiments (src/experiments): admins create, start and stop them; staff read them with their live
 * per-variant results and watch them with experimentUpdated. Each variant's results are read when asked for
 * (one query per experiment), from the counts the Flink job keeps.
 */

const ExperimentStatusEnum = builder.enumType(ExperimentStatus, { name: 'ExperimentStatus' });

type Loaded = ExperimentRow & { results: () => Promise<VariantResult[]> };

const withResults = (ctx: GraphQLContext, e: ExperimentRow): Loaded => {
  let loaded: Promise<VariantResult[]> | undefined;
  return { ...e, results: () => (loaded ??= ctx.experiments.results(e)) };
};

const VariantRef = builder.objectRef<VariantResult>('ExperimentVariant').implement({
  description: 'One variant of an experiment (the first is the control) with its live results.',
  fields: (t) => ({
    id: t.exposeInt('variantId', { description: 'The variantId impressions and clicks carry' }),
    name: t.exposeString('name'),
    recommender: t.exposeString('recommender', { description: 'ours, most-popular, trending, item-knn, ease or random' }),
    params: t.expose('params', { type: 'JSON', description: 'Ranker weights and maxCategoryShare over the recommender’s own' }),
    weight: t.exposeFloat('weight', { description: 'Share of the traffic, relative to the other variants' }),
    control: t.boolean({ resolve: (v) => v.position === 0 }),
    impressions: t.exposeInt('impressions'),
    clicks: t.exposeInt('clicks'),
    ctr: t.exposeFloat('ctr', { description: 'clicks / impressions' }),
    addToCarts: t.exposeInt('carts', { description: 'Clicked products added to the cart later in the session' }),
    addToCartRate: t.exposeFloat('cartRate', { description: 'addToCarts / clicks' }),
    purchases: t.exposeInt('purchases', { description: 'Clicked products bought in a paid order later in the session' }),
    conversionRate: t.exposeFloat('conversionRate', { description: 'purchases / clicks' }),
    revenue: t.field({ type: 'Decimal', description: 'Revenue of those purchases', resolve: (v) => v.revenue }),
    revenuePerMille: t.exposeFloat('revenuePerMille', { description: 'Revenue per 1,000 impressions' }),
    probabilityToBeatControl: t.exposeFloat('probabilityToBeatControl', {
      nullable: true,
      description: 'Bayesian probability that this variant’s CTR is above the control’s (uniform priors); null for the control',
    }),
    winner: t.exposeBoolean('winner', { description: 'probabilityToBeatControl ≥ 0.95' }),
  }),
});

const ExperimentRef = builder.objectRef<Loaded>('Experiment').implement({
  description: 'An online experiment of recommender configurations on one placement: draft → running → stopped.',
  fields: (t) => ({
    id: t.exposeInt('experimentId'),
    name: t.exposeString('name'),
    placement: t.exposeString('placement'),
    status: t.field({ type: ExperimentStatusEnum, resolve: (e) => e.status }),
    createdAt: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.startedAt }),
    stoppedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.stoppedAt }),
    variants: t.field({ type: [VariantRef], resolve: (e) => e.results() }),
  }),
});

const VariantInput = builder.inputType('ExperimentVariantInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: "1-40 letters, digits, '.', '_' or '-'" }),
    recommender: t.string({ required: true, description: 'ours, most-popular, trending, item-knn, ease or random' }),
    params: t.field({ type: 'JSON', required: false, description: '{"weights": {"<signal>": number}, "maxCategoryShare": 0.7} (not for random)' }),
    weight: t.float({ required: false, defaultValue: 1, description: 'Share of the traffic, relative to the other variants (default 1)' }),
  }),
});

const ExperimentInput = builder.inputType('CreateExperimentInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    placement: t.string({ required: false, description: 'Where the lists are shown (default "home", the recommendations query)' }),
    variants: t.field({ type: [VariantInput], required: true, description: '2 to 10 variants; the first is the control' }),
  }),
});

builder.queryFields((t) => ({
  experiment: t.field({
    type: ExperimentRef,
    description: 'An experiment with its live per-variant results.',
    args: { id: t.arg.int({ required: true }) },
    resolve: async (_root, args, ctx) => withResults(ctx, await ctx.experiments.get(args.id)),
  }),
  experiments: t.field({
    type: [ExperimentRef],
    description: 'Every experiment, newest first.',
    resolve: async (_root, _args, ctx) => (await ctx.experiments.list()).map((e) => withResults(ctx, e)),
  }),
}));

builder.mutationFields((t) => ({
  createExperiment: t.field({
    type: ExperimentRef,
    description: 'Creates a draft experiment (admin). Start it with startExperiment.',
    args: { input: t.arg({ type: ExperimentInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      withResults(
        ctx,
        await ctx.experiments.create({
          name: input.name,
          placement: input.placement ?? undefined,
          variants: input.variants.map((v) => ({ name: v.name, recommender: v.recommender, params: v.params ?? undefined, weight: v.weight ?? 1 })),
        }),
      ),
  }),
  startExperiment: t.field({
    type: ExperimentRef,
    description: 'Starts a draft experiment (admin): its placement’s customers are served their variant from now on. One running experiment per placement.',
    args: { id: t.arg.int({ required: true }) },
    resolve: async (_root, args, ctx) => withResults(ctx, await ctx.experiments.start(args.id)),
  }),
  stopExperiment: t.field({
    type: ExperimentRef,
    description: 'Stops a running experiment (admin); its results stay.',
    args: { id: t.arg.int({ required: true }) },
    resolve: async (_root, args, ctx) => withResults(ctx, await ctx.experiments.stop(args.id)),
  }),
}));

builder.subscriptionField('experimentUpdated', (t) =>
  t.field({
    type: ExperimentRef,
    description: 'The experiment with its results when subscribing, then again when its status or its live results change (at most every 250 ms).',
    args: { id: t.arg.int({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      // An unknown id fails the subscription at once, as a typed error.
      await ctx.experiments.get(args.id);
      const events = ctx.changes.subscribeExperiments();
      return new Repeater<number>(async (push, stop) => {
        let timer: NodeJS.Timeout | undefined;
        // Coalesced: a burst of result writes becomes one push.
        const changed = (id: number) => {
          if (id !== args.id || timer) return;
          timer = setTimeout(() => {
            timer = undefined;
            void push(args.id);
          }, 250);
        };
        // Status changes made in this process, and the Flink job's writes of the results (a NOTIFY after commit);
        // the first push comes once both are followed, so nothing after it is missed.
        const done = (async () => {
          for await (const id of events) changed(id);
        })();
        const unlisten = await ctx.experiments.onResults(changed);
        void push(args.id);
        await stop;
        if (timer) clearTimeout(timer);
        unlisten();
        await events.return?.();
        await done;
      });
    },
    resolve: async (id: number, _args, ctx) => withResults(ctx, await ctx.experiments.get(id)),
  }),
);
