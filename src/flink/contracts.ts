/*
 * The row shape of every Flink job output, written once. The bridge's parser of the result topics and its
 * row types are derived from it (results.ts); the jobs' sink DDL (flink/*.sql), the Prisma models of the
 * sink tables and the GraphQL types are checked against it by tests/unit/flink-contracts.test.ts, which fails
 * when any of them drifts.
 */

/** How a column travels: Flink SQL type family, JSON on the topic, PostgreSQL column and TypeScript value. */
export type ColumnKind = 'string' | 'int' | 'bigint' | 'money' | 'float' | 'time';

export interface ColumnSpec {
  kind: ColumnKind;
  nullable?: boolean;
  /** Allowed values (a string column of a small vocabulary). */
  values?: readonly string[];
}

export interface ResultContract {
  /** PostgreSQL table the job upserts into. */
  table: string;
  /** The job that writes it (file name in flink/). */
  job: string;
  /** Output topic kind (`<prefix>.<topic>`) for results the API streams; features have none. */
  topic?: string;
  /** Upsert key of the sink table. */
  key: readonly string[];
  columns: Readonly<Record<string, ColumnSpec>>;
  /** The GraphQL object type that serves the rows, and the columns it names differently. */
  graphql?: { type: string; renamed?: Readonly<Record<string, string>> };
}

/**
 * Recency-weighted popularity by forward decay (Cormode et al. 2009): each interaction adds
 * weight · 2^((t − epoch) / halfLife). The sum is order-independent and incremental (a plain SUM in Flink,
 * no window), and ranking by it equals ranking by Σ weight · 2^(−(now − t) / halfLife) for any `now`.
 * With a 30-day half-life the factors stay within float8 for ±80 years around the epoch (2^±1000).
 * Measured on the grocery log (bench/RESULTS.md): half-lives of 14–30 days beat all-time popularity.
 */
export const RECENT_POPULARITY = { epochSeconds: Date.UTC(2025, 0, 1) / 1000, halfLifeSeconds: 30 * 86400 } as const;

const money = { kind: 'money' } as const;
const int = { kind: 'int' } as const;
const str = { kind: 'string' } as const;
const time = { kind: 'time' } as const;

/** The streamed results: a topic each (parsed by the bridge, served as subscriptions) and a table (queries). */
export const RESULT_CONTRACTS = {
  'fraud-alerts': {
    table: 'fraud_alerts',
    job: 'fraud-detection',
    topic: 'fraud-alerts',
    key: ['alert_id'],
    graphql: { type: 'FraudAlert' },
    columns: {
      alert_id: str,
      rule: str,
      customer_id: { kind: 'int', nullable: true },
      order_id: int,
      amount: money,
      order_count: int,
      detail: str,
      event_time: time,
      detected_at: time,
    },
  },
  'revenue-stats': {
    table: 'revenue_stats',
    job: 'revenue-stats',
    topic: 'revenue-stats',
    key: ['window_seconds', 'window_start'],
    graphql: { type: 'RevenueStat' },
    columns: {
      window_start: time,
      window_end: time,
      window_seconds: int,
      revenue: money,
      order_count: int,
      avg_order_value: money,
      previous_revenue: { kind: 'money', nullable: true },
      revenue_change: { kind: 'money', nullable: true },
      revenue_change_pct: { kind: 'float', nullable: true },
    },
  },
  'top-products': {
    table: 'top_products',
    job: 'top-products',
    topic: 'top-products',
    key: ['window_size', 'window_start', 'category_id', 'ranked_by', 'rank'],
    graphql: { type: 'TopProduct', renamed: { window_size: 'window' } },
    columns: {
      window_size: str,
      window_start: time,
      window_end: time,
      category_id: int,
      ranked_by: { kind: 'string', values: ['quantity', 'revenue'] },
      rank: int,
      product_id: int,
      quantity: int,
      revenue: money,
    },
  },
} as const satisfies Record<string, ResultContract>;

/** The recommendation features (tables only: serving reads them through indexes). */
export const FEATURE_CONTRACTS = {
  rec_customer_product: {
    table: 'rec_customer_product',
    job: 'recommendation-features',
    key: ['customer_id', 'product_id'],
    columns: {
      customer_id: int,
      product_id: int,
      views: { kind: 'bigint' },
      carts: { kind: 'bigint' },
      wishlists: { kind: 'bigint' },
      purchases: { kind: 'bigint' },
      last_at: time,
    },
  },
  rec_customer_category: {
    table: 'rec_customer_category',
    job: 'recommendation-features',
    key: ['customer_id', 'category_id'],
    columns: { customer_id: int, category_id: int, score: { kind: 'float' } },
  },
  rec_product_stats: {
    table: 'rec_product_stats',
    job: 'recommendation-features',
    key: ['product_id'],
    columns: {
      product_id: int,
      views: { kind: 'bigint' },
      carts: { kind: 'bigint' },
      wishlists: { kind: 'bigint' },
      purchases: { kind: 'bigint' },
      score: { kind: 'float' },
      recent_score: { kind: 'float' },
    },
  },
  rec_product_trend: {
    table: 'rec_product_trend',
    job: 'recommendation-features',
    key: ['product_id'],
    columns: { product_id: int, window_end: time, score: { kind: 'float' } },
  },
  rec_cooccurrence: {
    table: 'rec_cooccurrence',
    job: 'recommendation-features',
    key: ['product_a', 'product_b', 'kind'],
    columns: { product_a: int, product_b: int, kind: str, together: { kind: 'bigint' } },
  },
  rec_item_support: {
    table: 'rec_item_support',
    job: 'recommendation-features',
    key: ['product_id', 'kind'],
    columns: { product_id: int, kind: str, support: { kind: 'bigint' } },
  },
} as const satisfies Record<string, ResultContract>;

/** Other outputs kept in tables only: the experiments' live per-variant results (src/experiments/results.ts). */
export const TABLE_CONTRACTS = {
  experiment_results: {
    table: 'experiment_results',
    job: 'experiment-results',
    key: ['experiment_id', 'variant_id'],
    columns: {
      experiment_id: int,
      variant_id: int,
      impressions: { kind: 'bigint' },
      clicks: { kind: 'bigint' },
      carts: { kind: 'bigint' },
      purchases: { kind: 'bigint' },
      revenue: money,
      updated_at: time,
    },
  },
} as const satisfies Record<string, ResultContract>;

type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;
type ValueOf<C extends ColumnSpec> = C extends { values: readonly (infer V)[] }
  ? V
  : C['kind'] extends 'int' | 'bigint' | 'float'
    ? number
    : C['kind'] extends 'time'
      ? Date
      : string;
type Nullable<C extends ColumnSpec, V> = C extends { nullable: true } ? V | null : V;

/** The row of a contract as the API sees it: camelCase fields, money as exact decimal strings, times as Dates. */
export type RowOf<C extends ResultContract> = { -readonly [K in keyof C['columns'] & string as Camel<K>]: Nullable<C['columns'][K], ValueOf<C['columns'][K]>> };

/** snake_case → camelCase, as Prisma models and GraphQL fields name the columns. */
export const camelCase = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
