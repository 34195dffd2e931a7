import { generateData } from '../../datagen/generate.js';
import { GENERATE_DEFAULTS } from '../../datagen/limits.js';
import { SIMULATION_DEFAULTS } from '../../simulator/options.js';
import type { RecommendationUptake } from '../../simulator/stats.js';
import { uptakeOfRun } from '../../simulator/uptake.js';
import { builder } from '../builder.js';
import { enums } from './enums.js';

const SimulatedRecommenderEnum = builder.enumType('SimulatedRecommender', {
  description: 'What shows simulated shoppers their recommendations.',
  values: {
    OURS: { value: 'ours', description: 'The served recommender (the recommendations query)' },
    RANDOM: { value: 'random', description: 'Random active products: the baseline to compare uptake with' },
    EXPERIMENT: { value: 'experiment', description: "Each shopper's variant of the experiment running on the home placement" },
  } as const,
});

const RecommendationUptakeRef = builder.objectRef<RecommendationUptake>('RecommendationUptake').implement({
  description: "How a live simulation's shoppers took up the recommendations they were shown, counted from the recorded behaviour events.",
  fields: (t) => ({
    recommender: t.exposeString('recommender', { description: 'ours or random' }),
    lists: t.exposeInt('lists', { description: 'Recommendation lists shown' }),
    impressions: t.exposeInt('impressions', { description: 'recommendation_impression events: one per product shown' }),
    clicks: t.exposeInt('clicks', { description: 'recommendation_click events' }),
    clickThroughRate: t.exposeFloat('clickThroughRate', { description: 'clicks / impressions' }),
    ordersWithClickedProduct: t.exposeInt('ordersWithClickedProduct', { description: 'Paid orders holding a product clicked earlier in the same session' }),
    clickedProductsBought: t.exposeInt('clickedProductsBought', { description: 'Clicked products bought later in the same session' }),
    conversionRate: t.exposeFloat('conversionRate', { description: 'clickedProductsBought / clicks' }),
  }),
});

builder.prismaObject('SimulationRun', {
  description: 'A simulation started by the simulate mutation or the CLI; progress is updated while it runs.',
  fields: (t) => ({
    id: t.exposeID('id'),
    mode: t.exposeString('mode', { description: 'live or historical' }),
    status: t.expose('status', { type: enums.SimulationStatus }),
    progress: t.exposeFloat('progress', { description: 'Fraction done, 0 to 1' }),
    sessionsDone: t.exposeInt('sessionsDone'),
    sessionsTotal: t.exposeInt('sessionsTotal'),
    eventsWritten: t.exposeInt('eventsWritten'),
    params: t.expose('params', { type: 'JSON' }),
    error: t.exposeString('error', { nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    recommendationUptake: t.field({
      type: RecommendationUptakeRef,
      nullable: true,
      description: 'Impressions, clicks, click-through and conversion of the recommendations shown (null for back-fills and runs that showed none).',
      resolve: (run, _a, ctx) => {
        const params = run.params as { recommendations?: number; recommender?: string } | null;
        if (run.mode !== 'live' || !params?.recommendations) return null;
        return uptakeOfRun(ctx.pool, run, params.recommender ?? SIMULATION_DEFAULTS.recommender);
      },
    }),
  }),
});

const GenerateResult = builder.objectRef<{ categories: number; products: number; customers: number; elapsedMs: number }>('GenerateResult').implement({
  fields: (t) => ({
    categories: t.exposeInt('categories'),
    products: t.exposeInt('products'),
    customers: t.exposeInt('customers'),
    elapsedMs: t.exposeFloat('elapsedMs'),
  }),
});

const TableCount = builder.objectRef<{ table: string; rows: number }>('TableCount').implement({
  fields: (t) => ({ table: t.exposeString('table'), rows: t.exposeInt('rows') }),
});

const ClearScope = builder.enumType('ClearScope', {
  values: {
    ACTIVITY: { value: 'activity', description: 'Orders, carts, wishlists, payments, shipments, events' },
    ALL: { value: 'all', description: 'Everything, catalogue and customers included' },
  } as const,
});

builder.queryFields((t) => ({
  simulationRun: t.prismaField({
    type: 'SimulationRun',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _r, a, ctx) => (/^[0-9a-f-]{36}$/i.test(String(a.id)) ? ctx.db.simulationRun.findUnique({ ...query, where: { id: String(a.id) } }) : null),
  }),
  simulationRuns: t.prismaConnection({
    type: 'SimulationRun',
    cursor: 'id',
    totalCount: (_r, _a, ctx) => ctx.db.simulationRun.count(),
    resolve: (query, _r, _a, ctx) => ctx.db.simulationRun.findMany({ ...query, orderBy: { startedAt: 'desc' } }),
  }),
}));

builder.mutationFields((t) => ({
  simulate: t.prismaField({
    type: 'SimulationRun',
    description: 'Starts simulated shopping sessions (or, with historicalDays, a back-fill) in the background; poll simulationRun(id) for progress.',
    args: {
      sessions: t.arg.int({ required: false, defaultValue: SIMULATION_DEFAULTS.sessions }),
      durationMinutes: t.arg.float({ required: false, defaultValue: SIMULATION_DEFAULTS.durationMinutes }),
      speed: t.arg.float({ required: false, defaultValue: SIMULATION_DEFAULTS.speed, description: 'Clock compression (60 = a minute per second)' }),
      concurrency: t.arg.int({ required: false, defaultValue: SIMULATION_DEFAULTS.concurrency }),
      historicalDays: t.arg.int({ required: false }),
      sessionsPerDay: t.arg.int({ required: false, defaultValue: SIMULATION_DEFAULTS.sessionsPerDay }),
      seed: t.arg.int({ required: false }),
      recommendations: t.arg.int({
        required: false,
        defaultValue: SIMULATION_DEFAULTS.recommendations,
        description: 'Recommendations shown at the start of each live session (0 = none)',
      }),
      recommender: t.arg({ type: SimulatedRecommenderEnum, required: false, defaultValue: SIMULATION_DEFAULTS.recommender }),
    },
    resolve: async (query, _r, a, ctx) => {
      const id = await ctx.simulations.start({
        sessions: a.sessions ?? SIMULATION_DEFAULTS.sessions,
        durationMinutes: a.durationMinutes ?? SIMULATION_DEFAULTS.durationMinutes,
        speed: a.speed ?? SIMULATION_DEFAULTS.speed,
        concurrency: a.concurrency ?? SIMULATION_DEFAULTS.concurrency,
        historicalDays: a.historicalDays ?? undefined,
        sessionsPerDay: a.sessionsPerDay ?? SIMULATION_DEFAULTS.sessionsPerDay,
        seed: a.seed ?? undefined,
        recommendations: a.recommendations ?? SIMULATION_DEFAULTS.recommendations,
        recommender: a.recommender ?? SIMULATION_DEFAULTS.recommender,
      });
      return ctx.db.simulationRun.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  cancelSimulation: t.prismaField({
    type: 'SimulationRun',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _r, a, ctx) => {
      ctx.simulations.cancel(String(a.id));
      await ctx.simulations.wait(String(a.id));
      return ctx.db.simulationRun.findUniqueOrThrow({ ...query, where: { id: String(a.id) } });
    },
  }),
  generateData: t.field({
    type: GenerateResult,
    description: 'Adds categories, products and customers (one transaction).',
    args: {
      categories: t.arg.int({ required: false, defaultValue: GENERATE_DEFAULTS.categories }),
      products: t.arg.int({ required: false, defaultValue: GENERATE_DEFAULTS.products }),
      customers: t.arg.int({ required: false, defaultValue: GENERATE_DEFAULTS.customers }),
      seed: t.arg.int({ required: false }),
    },
    resolve: async (_r, a, ctx) => {
      return generateData(ctx.pool, {
        categories: a.categories ?? GENERATE_DEFAULTS.categories,
        products: a.products ?? GENERATE_DEFAULTS.products,
        customers: a.customers ?? GENERATE_DEFAULTS.customers,
        seed: a.seed ?? undefined,
      });
    },
  }),
  clearData: t.field({
    type: [TableCount],
    description:
      "Deletes the shop's activity (ACTIVITY) or everything (ALL) atomically, with the state derived from it: the feature, result and model tables are emptied, the change topics keep only what follows the reset, and the running Flink jobs restart from a fresh state. Refused (RESET_REFUSED) when the change capture cannot follow it. Returns the rows deleted per table.",
    args: { scope: t.arg({ type: ClearScope, required: true }) },
    resolve: async (_r, a, ctx) => {
      const { deleted } = await ctx.resetShopData(a.scope);
      return Object.entries(deleted).map(([table, rows]) => ({ table, rows }));
    },
  }),
}));
