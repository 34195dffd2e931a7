import type pg from 'pg';
import { SESSION_GAP_MINUTES } from './evaluation/split.js';
import { buildFeaturesAsOf, customerCutoffs, poolOnSchema } from './features-sql.js';
import { type NeighbourOptions, type NeighbourResult, trainNeighbours } from './neighbours.js';
import { type FitCase, type FitResult, fitRanker, packCase, type RankerWeights } from './ranker.js';
import { type Recommender, SERVED_RANKER } from './serving.js';

/*
 * Training the served ranker on the shop's own history: a leave-last-out validation split before the training
 * moment (each customer's last wishlist / cart / purchase moment is held out, what they did before trains),
 * the recommender features rebuilt as of each customer's moment from the same definitions Flink runs
 * (features-sql.ts), every candidate serving would consider read through the served query itself, then the
 * weights fitted on those lists (ranker.ts fitRanker). `rtrec train` stores the result in rec_ranker, which
 * serving reads; `rtrec evaluate` fits on its split's train part the same way before it scores `ours`.
 */

/** One validation customer: the moment they are served at and the items they took then (new to them). */
export interface ValidationCase {
  customerId: number;
  at: Date;
  heldOut: Set<number>;
}

export interface ValidationOptions {
  /** History before this moment counts (training: now; evaluation: the split's end or cutoff). */
  asOf: Date;
  /** Per-customer ends of history (evaluation leave-last-out: each tested customer's test moment). */
  bounds?: ReadonlyMap<number, Date>;
  /** Validation customers at most (a deterministic sample by customer id hash). */
  maxCustomers: number;
  /**
   * What is held out (the evaluation's split definitions, split.ts): `leave-last-out` (default) the last
   * wishlist / cart / purchase moment; `session` the last action when it continues a visit (the moment before
   * is at most `gapMinutes` earlier) and its products are new to the customer; `time` (ValidationProtocol).
   */
  protocol?: ValidationProtocol;
}

/**
 * `time`: one moment for everyone, the start of the last `share` (default 0.2) of the history before `asOf` —
 * features as of it, each customer's wishlisted / carted / bought items after it (not bought before) held out:
 * the evaluation's time split, and what a live shop asks of its model (the next period).
 */
export type ValidationProtocol = { kind: 'leave-last-out' } | { kind: 'session'; gapMinutes: number } | { kind: 'time'; share?: number };

/** The protocol of a kind (a flag's or a split's), the session gap defaulting to the shop's session timeout. */
export function validationProtocol(kind: ValidationProtocol['kind'], gapMinutes = SESSION_GAP_MINUTES): ValidationProtocol {
  return kind === 'session' ? { kind, gapMinutes } : { kind };
}

/**
 * The CTEs `purchases` (customer, product, at: order lines) and `actions` (customer, product, at, positive:
 * views, wishlists, carts and purchases) of the history that `end(alias, column)` keeps: what every
 * validation protocol reads.
 */
function actionsSql(end: (alias: string, column: string) => string): string {
  return `purchases AS (
       SELECT o.customer_id, i.product_id, o.order_date AS at FROM orders o JOIN order_items i ON i.order_id = o.order_id
       WHERE o.customer_id IS NOT NULL AND ${end('o', 'order_date')}
     ),
     actions AS (
       SELECT e.customer_id, e.product_id, e.occurred_at AS at, e.event_type IN ('add_to_cart', 'add_to_wishlist') AS positive FROM behavior_events e
       WHERE e.customer_id IS NOT NULL AND e.product_id IS NOT NULL AND e.event_type IN ('view_product', 'add_to_cart', 'add_to_wishlist') AND ${end('e', 'occurred_at')}
       UNION ALL SELECT customer_id, product_id, at, true FROM purchases
     )`;
}

/**
 * Each customer's last positive moment (wishlist, cart or purchase, as the evaluation's split defines it)
 * before their end of history, with the items of that moment they had not bought before; customers with no
 * earlier interaction are left out (nothing to personalise on).
 */
export async function validationCases(pool: pg.Pool, options: ValidationOptions): Promise<ValidationCase[]> {
  return (await validationRound(pool, options)).cases;
}

/**
 * validationCases, and every customer's candidate moment (the last positive one, session: the last action)
 * whether or not it made a case: the next round looks before it.
 */
async function validationRound(pool: pg.Pool, options: ValidationOptions): Promise<{ cases: ValidationCase[]; moments: Map<number, Date> }> {
  const session = options.protocol?.kind === 'session';
  const gap = options.protocol?.kind === 'session' ? options.protocol.gapMinutes : 0;
  if (!(Number.isFinite(gap) && gap >= 0)) throw new Error(`bad session gap ${gap}`);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const end = await customerCutoffs(client, 'fit_bounds', options.bounds);
    const { rows } = await client.query<{ customer_id: number; at: Date; items: number[] | null }>(
      `WITH ${actionsSql(end)},
       last AS (SELECT customer_id, max(at) AS at FROM actions WHERE ${session ? 'true' : 'positive'} GROUP BY customer_id),
       -- the moment's items that are new to the customer (not bought before; session: not touched before)
       fresh AS (
         SELECT l.customer_id, l.at, a.product_id FROM last l
         JOIN actions a ON a.customer_id = l.customer_id AND a.at = l.at${session ? '' : ' AND a.positive'}
         WHERE NOT EXISTS (SELECT 1 FROM ${session ? 'actions' : 'purchases'} p WHERE p.customer_id = l.customer_id AND p.product_id = a.product_id AND p.at < l.at)
       ),
       sample AS (
         SELECT l.* FROM last l
         WHERE EXISTS (SELECT 1 FROM actions a WHERE a.customer_id = l.customer_id AND a.at < l.at${session ? ` AND a.at >= l.at - interval '${gap} minutes'` : ''})
           AND EXISTS (SELECT 1 FROM fresh f WHERE f.customer_id = l.customer_id)
         ORDER BY md5(l.customer_id::text), l.customer_id LIMIT $2
       )
       SELECT l.customer_id, l.at, s.items FROM last l
       LEFT JOIN (SELECT s.customer_id, array_agg(DISTINCT f.product_id) AS items FROM sample s JOIN fresh f ON f.customer_id = s.customer_id GROUP BY s.customer_id) s
         ON s.customer_id = l.customer_id
       ORDER BY l.customer_id`,
      [options.asOf, options.maxCustomers],
    );
    await client.query('COMMIT');
    return {
      cases: rows.filter((r) => r.items).map((r) => ({ customerId: r.customer_id, at: r.at, heldOut: new Set(r.items) })),
      moments: new Map(rows.map((r) => [r.customer_id, r.at])),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The time protocol's cases: one moment (`at`) for every sampled customer. */
export async function timeValidationCases(
  pool: pg.Pool,
  options: ValidationOptions & { share: number },
): Promise<{ at: Date | null; cases: ValidationCase[] }> {
  if (!(options.share > 0 && options.share < 1)) throw new Error(`bad validation share ${options.share}`);
  const { rows: span } = await pool.query<{ first: Date | null }>(
    `SELECT least((SELECT min(occurred_at) FROM behavior_events WHERE occurred_at < $1), (SELECT min(order_date) FROM orders WHERE order_date < $1)) AS first`,
    [options.asOf],
  );
  const first = span[0]?.first;
  if (!first) return { at: null, cases: [] };
  const at = new Date(first.getTime() + (options.asOf.getTime() - first.getTime()) * (1 - options.share));
  const { rows } = await pool.query<{ customer_id: number; items: number[] }>(
    `WITH ${actionsSql((alias, column) => `${alias}.${column} < $2`)},
     fresh AS (
       SELECT DISTINCT a.customer_id, a.product_id FROM actions a
       WHERE a.positive AND a.at >= $1
         AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = a.customer_id AND p.product_id = a.product_id AND p.at < $1)
     ),
     sample AS (
       SELECT customer_id FROM (SELECT DISTINCT customer_id FROM fresh) f
       WHERE EXISTS (SELECT 1 FROM actions a WHERE a.customer_id = f.customer_id AND a.at < $1)
       ORDER BY md5(customer_id::text), customer_id LIMIT $3
     )
     SELECT s.customer_id, array_agg(f.product_id) AS items FROM sample s JOIN fresh f USING (customer_id) GROUP BY 1 ORDER BY 1`,
    [at, options.asOf, options.maxCustomers],
  );
  return { at, cases: rows.map((r) => ({ customerId: r.customer_id, at, heldOut: new Set(r.items) })) };
}

export interface TrainOptions extends ValidationOptions {
  /** The served recommender on a pool (the composition root's `recommenderOn`). */
  recommenderOn(pool: pg.Pool): Recommender;
  /** Schema the validation features are built in (dropped afterwards). */
  schema: string;
  /** Called as candidates are read: done of total. */
  onProgress?(done: number, total: number): void;
  /** Fewer validation cases than this keep the defaults (the fit would be noise). */
  minCases?: number;
  /** Exactly this many validation rounds (default: MIN_ROUNDS, more for small shops, up to MAX_ROUNDS). */
  rounds?: number;
  /** How the learned neighbours are fitted (EASE's backend). */
  neighbours?: NeighbourOptions;
}

export interface TrainResult extends FitResult {
  /** Validation customers found (before the minimum check) and candidates read per customer, on average. */
  found: number;
  candidatesPerCase: number;
  /** False when too few validation customers were found: the defaults stand. */
  trained: boolean;
  seconds: number;
}

/**
 * Validation rounds: each looks one moment further back per customer (their last, second-to-last, … positive
 * moment, or action for sessions). At least MIN_ROUNDS (more cases, less noise), and more while fewer than
 * ENOUGH_CASES were found, up to MAX_ROUNDS (small shops).
 */
const MIN_ROUNDS = 2;
const MAX_ROUNDS = 6;
const ENOUGH_CASES = 300;
/** The time protocol's validation period: the last fifth of the history (as the evaluation's default test period). */
const TIME_SHARE = 0.2;

/**
 * Fits the served ranker's weights on a validation split of the history before `asOf`: in each round every
 * sampled customer's latest positive moment before the previous round's (first: before their end of history)
 * is held out, the features are rebuilt as of those moments, and serving's candidates are read; the weights
 * are fitted on the cases of all rounds together.
 */
export async function trainRanker(pool: pg.Pool, options: TrainOptions): Promise<TrainResult> {
  const started = Date.now();
  const minCases = options.minCases ?? 20;
  const minRounds = options.rounds ?? MIN_ROUNDS;
  const maxRounds = options.rounds ?? MAX_ROUNDS;
  const packed: FitCase[] = [];
  let bounds = new Map(options.bounds ?? []);
  let found = 0;
  let candidates = 0;
  /** Features as of `asOf` (own rows before `cutoffs`), then serving's candidates of every case. */
  const collect = async (cases: readonly ValidationCase[], asOf: Date, cutoffs?: ReadonlyMap<number, Date>) => {
    found += cases.length;
    await buildFeaturesAsOf(pool, options.schema, asOf, { cutoffs });
    await trainNeighbours(pool, options.schema, options.neighbours);
    const asOfPool = poolOnSchema(pool, options.schema, 4);
    try {
      const recommender = options.recommenderOn(asOfPool);
      // Each case keeps its place (workers finish in any order), so the fit is deterministic.
      const offset = packed.length;
      let done = 0;
      let next = 0;
      const worker = async () => {
        while (next < cases.length) {
          const i = next++;
          const c = cases[i]!;
          const list = await recommender.candidates(c.customerId, c.at);
          candidates += list.length;
          packed[offset + i] = packCase(list, c.heldOut, recommender.repurchasable);
          options.onProgress?.(++done, cases.length);
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
    } finally {
      await asOfPool.end();
      await pool.query(`DROP SCHEMA IF EXISTS ${options.schema} CASCADE`);
    }
  };
  if (options.protocol?.kind === 'time') {
    const { at, cases } = await timeValidationCases(pool, { ...options, share: options.protocol.share ?? TIME_SHARE });
    if (at && cases.length > 0) await collect(cases, at);
  } else {
    for (let round = 0; round < maxRounds && (round < minRounds || packed.length < ENOUGH_CASES); round++) {
      const { cases, moments } = await validationRound(pool, { ...options, bounds });
      if (moments.size === 0) break;
      if (cases.length > 0) {
        const cutoffs = new Map(bounds);
        for (const c of cases) cutoffs.set(c.customerId, c.at);
        await collect(cases, options.asOf, cutoffs);
      }
      // The next round looks before each customer's moment of this one (a case or not).
      bounds = new Map([...bounds, ...moments]);
    }
  }
  const trained = packed.length >= minCases;
  const fit = fitRanker(trained ? packed : []);
  return { ...fit, found, candidatesPerCase: packed.length ? candidates / packed.length : 0, trained, seconds: (Date.now() - started) / 1000 };
}

/** Stores fitted weights where serving reads them (rec_ranker), with the validation figures. */
export async function saveRanker(pool: pg.Pool, ranker: RankerWeights, metrics: Record<string, unknown>): Promise<void> {
  await pool.query(
    `INSERT INTO rec_ranker (name, weights, metrics, trained_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (name) DO UPDATE SET weights = EXCLUDED.weights, metrics = EXCLUDED.metrics, trained_at = EXCLUDED.trained_at`,
    [SERVED_RANKER, JSON.stringify(ranker), JSON.stringify(metrics)],
  );
}

export interface ServedTrainingOptions {
  /** Validation customers at most. */
  maxCustomers: number;
  /** The validation protocol (default `time`: the next period, what a live shop asks of its model). */
  protocol?: ValidationProtocol;
  /** Write nothing (report what training would store). */
  dryRun?: boolean;
  /** How the learned neighbours are fitted (EASE's backend, progress lines). */
  neighbours?: NeighbourOptions;
  onProgress?(done: number, total: number): void;
}

export interface ServedTrainingReport {
  trainedAt: string;
  neighbours: NeighbourResult;
  ranker: TrainResult;
  /** Whether the weights were stored (false: dry run, or too few validation cases — the defaults stand). */
  saved: boolean;
}

/**
 * What `rtrec train` (and the demo's periodic training) does: the learned neighbours from the live
 * rec_customer_product, then the ranker's weights fitted on the history before now, stored in rec_ranker
 * (serving re-reads it within its rankerTtlMs, 30 s).
 */
export async function trainServed(pool: pg.Pool, recommenderOn: (pool: pg.Pool) => Recommender, options: ServedTrainingOptions): Promise<ServedTrainingReport> {
  const asOf = new Date();
  const neighbours = options.dryRun ? await neighboursDryRun(pool, options.neighbours) : await trainNeighbours(pool, 'public', options.neighbours);
  const protocol = options.protocol ?? { kind: 'time' };
  const ranker = await trainRanker(pool, {
    asOf,
    maxCustomers: options.maxCustomers,
    protocol,
    recommenderOn,
    schema: 'rtrec_train',
    neighbours: options.neighbours,
    onProgress: options.onProgress,
  });
  const saved = !options.dryRun && ranker.trained;
  if (saved) {
    await saveRanker(pool, ranker.ranker, {
      validation: { cases: ranker.cases, protocol: protocol.kind, fitted: ranker.fitted, defaults: ranker.defaults },
      neighbours: { rows: neighbours.rows, products: neighbours.products, ease: neighbours.ease },
    });
  }
  return { trainedAt: asOf.toISOString(), neighbours, ranker, saved };
}

/** The neighbour fit without writing it: trains into a scratch schema that is dropped. */
async function neighboursDryRun(pool: pg.Pool, options?: NeighbourOptions): Promise<NeighbourResult> {
  await pool.query('DROP SCHEMA IF EXISTS rtrec_train_dry CASCADE');
  await pool.query('CREATE SCHEMA rtrec_train_dry');
  try {
    await pool.query('CREATE TABLE rtrec_train_dry.rec_customer_product AS SELECT customer_id, product_id FROM public.rec_customer_product');
    await pool.query('CREATE TABLE rtrec_train_dry.rec_model_neighbours (LIKE public.rec_model_neighbours INCLUDING ALL)');
    return await trainNeighbours(pool, 'rtrec_train_dry', options);
  } finally {
    await pool.query('DROP SCHEMA IF EXISTS rtrec_train_dry CASCADE');
  }
}
