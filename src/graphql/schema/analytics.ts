import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { filter, pipe, Repeater } from 'graphql-yoga';
import { MAX_PAGE_SIZE } from '../../api/resources.js';
import type { FraudAlertRow, RevenueStatRow, StreamResult, TopProductRow } from '../../flink/results.js';
import { subscribeFrom } from '../../kafka/resume.js';
import { builder, type FieldBuilder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { entityRef } from './models.js';
import { AFTER_DESCRIPTION, CURSOR_DESCRIPTION } from './subscriptions.js';

/*
 * The Flink jobs' results (flink/*.sql): read from the tables they upsert into (fraud_alerts,
 * revenue_stats, top_products) as Relay connections, and streamed from their output topics through the
 * CDC bridge as subscriptions. A subscription's rows are the query's types plus the cursor to resume after them
 * (FraudAlertEvent, RevenueStatEvent; TopProductsUpdate is subscription-only).
 */

type Cursored<T> = T & { cursor: string };

const WINDOW_SIZES = { ONE_MINUTE: '1m', FIVE_MINUTES: '5m', ONE_HOUR: '1h' } as const;
type WindowName = keyof typeof WINDOW_SIZES;
const windowName = (size: string) => (Object.entries(WINDOW_SIZES).find(([, v]) => v === size)?.[0] ?? size) as WindowName;

const TopProductsWindow = builder.enumType('TopProductsWindow', {
  description: 'Tumbling window of the top-products job.',
  values: { ONE_MINUTE: { description: '1 minute' }, FIVE_MINUTES: { description: '5 minutes' }, ONE_HOUR: { description: '1 hour' } } as const,
});
const RankBy = builder.enumType('RankBy', { values: { QUANTITY: { description: 'Units sold' }, REVENUE: { description: 'Revenue' } } as const });

const FRAUD_ALERT = 'An alert of the fraud-detection Flink job: velocity (too many orders within a minute), high_value, or burst (near-identical orders).';
const fraudAlertFields = (t: FieldBuilder<FraudAlertRow>) => ({
  alertId: t.exposeString('alertId', { description: 'rule:orderId — stable, so a re-emitted alert is the same alert' }),
  rule: t.exposeString('rule'),
  customerId: t.exposeInt('customerId', { nullable: true }),
  orderId: t.exposeInt('orderId'),
  amount: t.field({ type: 'Decimal', resolve: (a) => a.amount }),
  orderCount: t.exposeInt('orderCount', { description: 'Orders counted by the rule (1 for high_value)' }),
  detail: t.exposeString('detail'),
  eventTime: t.field({ type: 'DateTime', description: 'Commit time of the triggering order', resolve: (a) => a.eventTime }),
  detectedAt: t.field({ type: 'DateTime', description: 'When Flink emitted the alert', resolve: (a) => a.detectedAt }),
  order: t.field({ type: entityRef('Order'), nullable: true, resolve: (a, _args, ctx) => ctx.db.order.findUnique({ where: { orderId: a.orderId } }) }),
});
const FraudAlert = builder.objectRef<FraudAlertRow>('FraudAlert').implement({ description: FRAUD_ALERT, fields: fraudAlertFields });
const FraudAlertEvent = builder.objectRef<Cursored<FraudAlertRow>>('FraudAlertEvent').implement({
  description: `${FRAUD_ALERT} As the fraudAlert subscription delivers it.`,
  fields: (t) => ({ cursor: t.exposeString('cursor', { description: CURSOR_DESCRIPTION }), ...fraudAlertFields(t) }),
});

const REVENUE_STAT = 'Revenue of one closed tumbling window of the revenue-statistics Flink job (orders by commit time).';
const revenueStatFields = (t: FieldBuilder<RevenueStatRow>) => ({
  windowStart: t.field({ type: 'DateTime', resolve: (r) => r.windowStart }),
  windowEnd: t.field({ type: 'DateTime', resolve: (r) => r.windowEnd }),
  windowSeconds: t.exposeInt('windowSeconds'),
  revenue: t.field({ type: 'Decimal', resolve: (r) => r.revenue }),
  orderCount: t.exposeInt('orderCount'),
  avgOrderValue: t.field({ type: 'Decimal', resolve: (r) => r.avgOrderValue }),
  previousRevenue: t.field({
    type: 'Decimal',
    nullable: true,
    description: 'Revenue of the window before (0 when it had no orders; null for the first)',
    resolve: (r) => r.previousRevenue,
  }),
  revenueChange: t.field({ type: 'Decimal', nullable: true, resolve: (r) => r.revenueChange }),
  revenueChangePct: t.float({ nullable: true, resolve: (r) => (r.revenueChangePct === null ? null : Number(r.revenueChangePct)) }),
});
const RevenueStat = builder.objectRef<RevenueStatRow>('RevenueStat').implement({ description: REVENUE_STAT, fields: revenueStatFields });
const RevenueStatEvent = builder.objectRef<Cursored<RevenueStatRow>>('RevenueStatEvent').implement({
  description: `${REVENUE_STAT} As the revenueUpdated subscription delivers it.`,
  fields: (t) => ({ cursor: t.exposeString('cursor', { description: CURSOR_DESCRIPTION }), ...revenueStatFields(t) }),
});

const TopProduct = builder.objectRef<TopProductRow>('TopProduct').implement({
  description: 'One ranked product of a closed window of the top-products Flink job.',
  fields: (t) => ({
    window: t.field({ type: TopProductsWindow, resolve: (r) => windowName(r.windowSize) }),
    windowStart: t.field({ type: 'DateTime', resolve: (r) => r.windowStart }),
    windowEnd: t.field({ type: 'DateTime', resolve: (r) => r.windowEnd }),
    categoryId: t.int({ nullable: true, description: 'null for the ranking over all categories', resolve: (r) => (r.categoryId === 0 ? null : r.categoryId) }),
    rankedBy: t.field({ type: RankBy, resolve: (r) => (r.rankedBy === 'revenue' ? 'REVENUE' : 'QUANTITY') }),
    rank: t.exposeInt('rank'),
    productId: t.exposeInt('productId'),
    quantity: t.exposeInt('quantity'),
    revenue: t.field({ type: 'Decimal', resolve: (r) => r.revenue }),
    product: t.field({
      type: entityRef('Product'),
      nullable: true,
      resolve: (r, _args, ctx) => ctx.db.product.findUnique({ where: { productId: r.productId } }),
    }),
  }),
});

interface TopProductsUpdate {
  cursor: string;
  window: WindowName;
  windowStart: Date;
  windowEnd: Date;
  categoryId: number | null;
  by: 'QUANTITY' | 'REVENUE';
  products: TopProductRow[];
}

const TopProductsUpdateRef = builder.objectRef<TopProductsUpdate>('TopProductsUpdate').implement({
  description: 'A closed window’s ranking, pushed once the top-products job has emitted it.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: `${CURSOR_DESCRIPTION} (The cursor of the ranking's last row.)` }),
    window: t.field({ type: TopProductsWindow, resolve: (u) => u.window }),
    windowStart: t.field({ type: 'DateTime', resolve: (u) => u.windowStart }),
    windowEnd: t.field({ type: 'DateTime', resolve: (u) => u.windowEnd }),
    categoryId: t.int({ nullable: true, resolve: (u) => u.categoryId }),
    by: t.field({ type: RankBy, resolve: (u) => u.by }),
    products: t.field({ type: [TopProduct], resolve: (u) => [...u.products].sort((a, b) => a.rank - b.rank) }),
  }),
});

const page = (args: { first?: number | null; last?: number | null }) => {
  if ((args.first ?? 0) > MAX_PAGE_SIZE || (args.last ?? 0) > MAX_PAGE_SIZE) return undefined;
  return { defaultSize: 20, maxSize: MAX_PAGE_SIZE };
};

builder.queryFields((t) => ({
  fraudAlerts: t.connection({
    type: FraudAlert,
    description: 'Alerts of the fraud-detection job, newest first.',
    args: {
      rule: t.arg.string({ required: false, description: 'velocity, high_value or burst' }),
      customerId: t.arg.int({ required: false }),
    },
    resolve: (_root, args, ctx) =>
      resolveOffsetConnection(
        { args, ...page(args) },
        ({ limit, offset }) =>
          ctx.db.fraudAlert.findMany({
            where: { ...(args.rule && { rule: args.rule }), ...(args.customerId != null && { customerId: args.customerId }) },
            orderBy: [{ eventTime: 'desc' }, { alertId: 'asc' }],
            skip: offset,
            take: limit,
          }) as unknown as Promise<FraudAlertRow[]>,
      ),
  }),
  revenueStats: t.connection({
    type: RevenueStat,
    description: 'Closed revenue windows, newest first; `window` selects the window length in seconds (the job’s REVENUE_WINDOW_SECONDS).',
    args: { window: t.arg.int({ required: false, description: 'window length in seconds; all lengths when omitted' }) },
    resolve: (_root, args, ctx) =>
      resolveOffsetConnection(
        { args, ...page(args) },
        ({ limit, offset }) =>
          ctx.db.revenueStat.findMany({
            where: args.window != null ? { windowSeconds: args.window } : {},
            orderBy: [{ windowStart: 'desc' }, { windowSeconds: 'asc' }],
            skip: offset,
            take: limit,
          }) as unknown as Promise<RevenueStatRow[]>,
      ),
  }),
  topProducts: t.connection({
    type: TopProduct,
    description: 'The ranking of the latest closed window (or of `windowStart`), by quantity or revenue, overall or in one category.',
    args: {
      window: t.arg({ type: TopProductsWindow, required: false, defaultValue: 'ONE_MINUTE' }),
      categoryId: t.arg.int({ required: false, description: 'rank within this category; all categories when omitted' }),
      by: t.arg({ type: RankBy, required: false, defaultValue: 'QUANTITY' }),
      windowStart: t.arg({ type: 'DateTime', required: false, description: 'a specific window (its start); the latest closed one when omitted' }),
    },
    resolve: async (_root, args, ctx) => {
      const where = {
        windowSize: WINDOW_SIZES[(args.window ?? 'ONE_MINUTE') as WindowName],
        categoryId: args.categoryId ?? 0,
        rankedBy: args.by === 'REVENUE' ? 'revenue' : 'quantity',
      };
      const windowStart =
        args.windowStart ?? (await ctx.db.topProduct.findFirst({ where, orderBy: { windowStart: 'desc' }, select: { windowStart: true } }))?.windowStart;
      return resolveOffsetConnection({ args, ...page(args) }, ({ limit, offset }) =>
        windowStart
          ? (ctx.db.topProduct.findMany({ where: { ...where, windowStart }, orderBy: { rank: 'asc' }, skip: offset, take: limit }) as unknown as Promise<
              TopProductRow[]
            >)
          : Promise.resolve([]),
      );
    },
  }),
}));

/** A job's result rows with their cursors: live, or resumed after `after`. */
const rows = async <K extends StreamResult['kind']>(ctx: GraphQLContext, kind: K, field: string, after: string | null | undefined) =>
  pipe(
    await subscribeFrom(ctx.history, kind, field, after, ctx.changes.subscribeResult(kind) as AsyncIterable<StreamResult>),
    filter((r: StreamResult) => r.kind === kind),
  ) as AsyncIterable<Cursored<Extract<StreamResult, { kind: K }>>>;

builder.subscriptionFields((t) => ({
  fraudAlert: t.field({
    type: FraudAlertEvent,
    description: 'Fraud alerts as the Flink job emits them; optional filters by customer and rule.',
    args: {
      customerId: t.arg.int({ required: false }),
      rule: t.arg.string({ required: false }),
      after: t.arg.string({ required: false, description: AFTER_DESCRIPTION }),
    },
    subscribe: async (_root, args, ctx) =>
      pipe(
        await rows(ctx, 'fraud-alerts', 'fraudAlert', args.after),
        filter((r) => (args.customerId == null || r.row.customerId === args.customerId) && (!args.rule || r.row.rule === args.rule)),
      ),
    resolve: (r) => ({ ...r.row, cursor: r.cursor }),
  }),
  revenueUpdated: t.field({
    type: RevenueStatEvent,
    description: 'Each revenue window as it closes.',
    args: {
      window: t.arg.int({ required: false, description: 'window length in seconds' }),
      after: t.arg.string({ required: false, description: AFTER_DESCRIPTION }),
    },
    subscribe: async (_root, args, ctx) =>
      pipe(
        await rows(ctx, 'revenue-stats', 'revenueUpdated', args.after),
        filter((r) => args.window == null || r.row.windowSeconds === args.window),
      ),
    resolve: (r) => ({ ...r.row, cursor: r.cursor }),
  }),
  topProductsUpdated: t.field({
    type: TopProductsUpdateRef,
    description: 'The ranking of each closed window of the chosen size, scope and measure, once the job has emitted all its rows.',
    args: {
      window: t.arg({ type: TopProductsWindow, required: false, defaultValue: 'ONE_MINUTE' }),
      categoryId: t.arg.int({ required: false }),
      by: t.arg({ type: RankBy, required: false, defaultValue: 'QUANTITY' }),
      after: t.arg.string({ required: false, description: AFTER_DESCRIPTION }),
    },
    subscribe: async (_root, args, ctx) => {
      const size = WINDOW_SIZES[(args.window ?? 'ONE_MINUTE') as WindowName];
      const rankedBy = args.by === 'REVENUE' ? 'revenue' : 'quantity';
      const category = args.categoryId ?? 0;
      const matching = pipe(
        await rows(ctx, 'top-products', 'topProductsUpdated', args.after),
        filter((r) => r.row.windowSize === size && r.row.rankedBy === rankedBy && r.row.categoryId === category),
      );
      return collectRankings(matching, (products, cursor) => ({
        cursor,
        window: windowName(size),
        windowStart: products[0]!.windowStart,
        windowEnd: products[0]!.windowEnd,
        categoryId: category === 0 ? null : category,
        by: args.by === 'REVENUE' ? 'REVENUE' : 'QUANTITY',
        products,
      }));
    },
    resolve: (u) => u,
  }),
}));

/**
 * The job writes a ranking as one row per rank; subscribers want it whole. Rows of one window are
 * gathered until 250 ms pass without another (or a row of a later window arrives), then pushed as one.
 */
function collectRankings(
  source: AsyncIterable<{ row: TopProductRow; cursor: string }>,
  build: (rows: TopProductRow[], cursor: string) => TopProductsUpdate,
): AsyncIterable<TopProductsUpdate> {
  return new Repeater<TopProductsUpdate>(async (push, stop) => {
    let pending: TopProductRow[] = [];
    let cursor = '';
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (pending.length === 0) return;
      const byRank = new Map(pending.map((r) => [r.rank, r]));
      void push(build([...byRank.values()], cursor));
      pending = [];
    };
    const iterator = source[Symbol.asyncIterator]();
    void stop.then(() => {
      if (timer) clearTimeout(timer);
      void iterator.return?.();
    });
    for (;;) {
      const next = await Promise.race([iterator.next(), stop.then(() => ({ done: true as const, value: undefined }))]);
      if (next.done) break;
      const row = next.value.row;
      if (pending.length > 0 && pending[0]!.windowStart.getTime() !== row.windowStart.getTime()) flush();
      pending.push(row);
      cursor = next.value.cursor;
      if (timer) clearTimeout(timer);
      timer = setTimeout(flush, 250);
    }
    flush();
    stop();
  });
}
