import type pg from 'pg';
import type { Db } from '../database/database.js';
import { AppError, notFound } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { pinnedProducts } from '../merchandising/apply.js';
import { type Merchandising, OVERFETCH } from '../merchandising/rules.js';
import type { Recommendation, Recommender, RecommendOptions } from '../recommend/serving.js';
import { assignVariant } from './assignment.js';
import { createResultsListener } from './notify.js';
import { parseVariantParams, serveVariant, type VariantParams, type VariantRecommender } from './recommenders.js';
import { liveCounts, type VariantResult, withStatistics } from './results.js';

/*
 * Experiments: create (draft) → start (running) → stop (stopped). At most one experiment runs per placement
 * (the unique index on experiments.running_placement). While one runs, each customer served on its placement
 * gets the list of the variant their hash picks (assignment.ts); the assignment is recorded the first time and
 * the recorded one is served from then on. Lists carry the experiment and variant ids, which the impression and
 * click events record, and the Flink job counts per variant.
 */

/** The placement the recommendations query serves. */
export const DEFAULT_PLACEMENT = 'home';
export const EXPERIMENT_LIMITS = { variants: 10, weight: 1000 } as const;
const NAME = /^[\w .:-]{1,100}$/;
const VARIANT_NAME = /^[\w.-]{1,40}$/;
const PLACEMENT = /^[a-z0-9_-]{1,40}$/;
/** How long this process serves its view of the running experiments before reading them again. */
const RUNNING_TTL_MS = 1000;
const MAX_REMEMBERED = 200_000;
/** The most candidates one served list reads while merchandising rules are in force (filters may need many). */
const MAX_CANDIDATES = 400;

export interface VariantInput {
  name: string;
  recommender: string;
  params?: unknown;
  weight: number;
}

export interface ExperimentInput {
  name: string;
  placement?: string;
  variants: VariantInput[];
}

export interface Variant {
  variantId: number;
  name: string;
  position: number;
  recommender: VariantRecommender;
  params: VariantParams;
  weight: number;
}

export interface ExperimentRow {
  experimentId: number;
  name: string;
  placement: string;
  status: 'draft' | 'running' | 'stopped';
  createdAt: Date;
  startedAt: Date | null;
  stoppedAt: Date | null;
  variants: Variant[];
}

/** The experiment and variant a list was served from. */
export interface Arm {
  experimentId: number;
  variantId: number;
  variant: string;
  recommender: VariantRecommender;
}

/** A served list: recommendations with the arm that served them (none outside experiments). */
export interface ServedList {
  items: Recommendation[];
  arm?: Arm;
}

const bad = (field: string, message: string) => new AppError('BAD_USER_INPUT', message, { field });

/** Checks an experiment's definition; every message names the field and what is allowed. */
export function validateExperimentInput(
  input: ExperimentInput,
): ExperimentInput & { placement: string; variants: (VariantInput & { params: VariantParams })[] } {
  if (typeof input.name !== 'string' || !NAME.test(input.name.trim()) || input.name.trim() !== input.name)
    throw bad('name', `name must be 1-100 letters, digits, spaces, '_', '.', ':' or '-' without leading or trailing spaces, got "${input.name}".`);
  const placement = input.placement ?? DEFAULT_PLACEMENT;
  if (!PLACEMENT.test(placement)) throw bad('placement', `placement must be 1-40 lowercase letters, digits, '_' or '-', got "${placement}".`);
  if (!Array.isArray(input.variants) || input.variants.length < 2 || input.variants.length > EXPERIMENT_LIMITS.variants)
    throw bad('variants', `variants must list 2 to ${EXPERIMENT_LIMITS.variants} variants (the first is the control), got ${input.variants?.length ?? 0}.`);
  const seen = new Set<string>();
  const variants = input.variants.map((v, i) => {
    const at = `variants[${i}]`;
    if (typeof v.name !== 'string' || !VARIANT_NAME.test(v.name))
      throw bad(`${at}.name`, `${at}.name must be 1-40 letters, digits, '.', '_' or '-', got "${v.name}".`);
    if (seen.has(v.name)) throw bad(`${at}.name`, `${at}.name "${v.name}" is used twice: give each variant its own name.`);
    seen.add(v.name);
    if (typeof v.weight !== 'number' || !Number.isFinite(v.weight) || v.weight <= 0 || v.weight > EXPERIMENT_LIMITS.weight)
      throw bad(`${at}.weight`, `${at}.weight must be a number above 0 and at most ${EXPERIMENT_LIMITS.weight} (a share of the traffic), got ${v.weight}.`);
    return { ...v, params: parseVariantParams(v.recommender, v.params, at) };
  });
  return { ...input, placement, variants };
}

function positiveId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 2_147_483_647) throw bad('id', `id must be a positive integer, got ${id}.`);
}

const isUniqueViolation = (error: unknown, target: string) => {
  const e = error as { code?: string; meta?: { target?: unknown; driverAdapterError?: unknown } };
  return e?.code === 'P2002' && JSON.stringify(e.meta ?? {}).includes(target);
};

export interface ExperimentDeps {
  db: Db;
  pool: pg.Pool;
  recommender: Recommender;
  logger: Logger;
  /** The merchandising rules every served list goes through, after scoring (none when absent). */
  merchandising?: Merchandising;
}

export type ExperimentListener = (experimentId: number) => void;

export function createExperiments({ db, pool, recommender, logger, merchandising }: ExperimentDeps) {
  let running: { at: number; byPlacement: Promise<Map<string, ExperimentRow>> } | undefined;
  /** `${experimentId}:${customerId}` → the recorded variant id. */
  const recorded = new Map<string, number>();
  const listeners = new Set<ExperimentListener>();
  const resultsListeners = new Set<ExperimentListener>();
  const results = createResultsListener(pool, logger, (id) => {
    for (const l of resultsListeners) l(id);
  });

  const toRow = (e: {
    experimentId: number;
    name: string;
    placement: string;
    status: ExperimentRow['status'];
    createdAt: Date;
    startedAt: Date | null;
    stoppedAt: Date | null;
    variants: { variantId: number; name: string; position: number; recommender: string; params: unknown; weight: number }[];
  }): ExperimentRow => ({
    ...e,
    variants: e.variants
      .sort((a, b) => a.position - b.position)
      .map((v) => ({ ...v, recommender: v.recommender as VariantRecommender, params: (v.params ?? {}) as VariantParams })),
  });

  async function get(id: number): Promise<ExperimentRow> {
    positiveId(id);
    const e = await db.experiment.findUnique({ where: { experimentId: id }, include: { variants: true } });
    if (!e) throw notFound('Experiment', id);
    return toRow(e);
  }

  function changed(id: number): void {
    running = undefined;
    for (const l of listeners) {
      try {
        l(id);
      } catch (error) {
        logger.warn({ err: error, experimentId: id }, 'an experiment change listener failed');
      }
    }
  }

  function runningExperiments(): Promise<Map<string, ExperimentRow>> {
    if (!running || Date.now() - running.at > RUNNING_TTL_MS) {
      const read = db.experiment
        .findMany({ where: { status: 'running' }, include: { variants: true } })
        .then((rows) => new Map(rows.map((r) => [r.placement, toRow(r)])));
      running = { at: Date.now(), byPlacement: read };
      read.catch(() => {
        running = undefined;
      });
    }
    return running.byPlacement;
  }

  /** The variant the customer is (or is now) recorded in: the hash's pick the first time, the stored one after. */
  async function recordAssignment(experiment: ExperimentRow, customerId: number): Promise<Variant> {
    const key = `${experiment.experimentId}:${customerId}`;
    let variantId = recorded.get(key);
    if (variantId === undefined) {
      const picked =
        experiment.variants[
          assignVariant(
            experiment.experimentId,
            customerId,
            experiment.variants.map((v) => v.weight),
          )
        ]!;
      const { rows } = await pool.query<{ variant_id: number }>({
        name: 'rtrec-experiment-assign',
        text: `WITH added AS (
                 INSERT INTO experiment_assignments (experiment_id, customer_id, variant_id) VALUES ($1, $2, $3)
                 ON CONFLICT (experiment_id, customer_id) DO NOTHING RETURNING variant_id)
               SELECT variant_id FROM added
               UNION ALL SELECT variant_id FROM experiment_assignments WHERE experiment_id = $1 AND customer_id = $2
               LIMIT 1`,
        values: [experiment.experimentId, customerId, picked.variantId],
      });
      variantId = rows[0]?.variant_id ?? picked.variantId;
      if (recorded.size >= MAX_REMEMBERED) recorded.clear();
      recorded.set(key, variantId);
    }
    return experiment.variants.find((v) => v.variantId === variantId) ?? experiment.variants[0]!;
  }

  return {
    get,
    /** Every experiment, newest first. */
    async list(): Promise<ExperimentRow[]> {
      const rows = await db.experiment.findMany({ include: { variants: true }, orderBy: { experimentId: 'desc' } });
      return rows.map(toRow);
    },

    /** Creates a draft experiment; the first variant is the control. */
    async create(input: ExperimentInput): Promise<ExperimentRow> {
      const checked = validateExperimentInput(input);
      try {
        const e = await db.experiment.create({
          data: {
            name: checked.name,
            placement: checked.placement,
            variants: {
              create: checked.variants.map((v, position) => ({
                name: v.name,
                position,
                recommender: v.recommender,
                params: v.params as object,
                weight: v.weight,
              })),
            },
          },
          include: { variants: true },
        });
        changed(e.experimentId);
        return toRow(e);
      } catch (error) {
        if (isUniqueViolation(error, 'name'))
          throw new AppError('CONFLICT', `An experiment named "${checked.name}" exists already: choose another name.`, { field: 'name' });
        throw error;
      }
    },

    /** draft → running; refused while another experiment runs on the same placement. */
    async start(id: number): Promise<ExperimentRow> {
      const e = await get(id);
      if (e.status !== 'draft')
        throw new AppError(
          'CONFLICT',
          e.status === 'running'
            ? `Experiment ${id} is running already.`
            : `Experiment ${id} is stopped and cannot run again: create a new experiment (its results stay as they are).`,
          { status: e.status },
        );
      try {
        const { count } = await db.experiment.updateMany({
          where: { experimentId: id, status: 'draft' },
          data: { status: 'running', runningPlacement: e.placement, startedAt: new Date() },
        });
        if (count === 0) throw new AppError('CONFLICT', `Experiment ${id} changed status meanwhile: read it again (experiment(id: ${id})).`);
      } catch (error) {
        if (!isUniqueViolation(error, 'running_placement')) throw error;
        const other = await db.experiment.findFirst({ where: { runningPlacement: e.placement }, select: { experimentId: true, name: true } });
        throw new AppError(
          'CONFLICT',
          `Experiment ${other?.experimentId} ("${other?.name}") is running on placement "${e.placement}": stop it first (stopExperiment, or rtrec experiment stop ${other?.experimentId}).`,
          { placement: e.placement, runningExperimentId: other?.experimentId },
        );
      }
      changed(id);
      return get(id);
    },

    /** running → stopped; the customers of its placement are served the default recommender again. */
    async stop(id: number): Promise<ExperimentRow> {
      const e = await get(id);
      if (e.status !== 'running')
        throw new AppError('CONFLICT', `Experiment ${id} is ${e.status}, not running: only a running experiment can be stopped.`, { status: e.status });
      const { count } = await db.experiment.updateMany({
        where: { experimentId: id, status: 'running' },
        data: { status: 'stopped', runningPlacement: null, stoppedAt: new Date() },
      });
      if (count === 0) throw new AppError('CONFLICT', `Experiment ${id} changed status meanwhile: read it again (experiment(id: ${id})).`);
      changed(id);
      return get(id);
    },

    /** The live per-variant results (Flink's counts) with their rates and confidence against the control. */
    async results(experiment: ExperimentRow): Promise<VariantResult[]> {
      return withStatistics(experiment.variants, await liveCounts(pool, experiment.experimentId));
    },

    /** The arm a customer is served on a placement, recorded; undefined when no experiment runs there. */
    async armFor(customerId: number, placement = DEFAULT_PLACEMENT): Promise<Arm | undefined> {
      const experiment = (await runningExperiments()).get(placement);
      if (!experiment) return undefined;
      const variant = await recordAssignment(experiment, customerId);
      return { experimentId: experiment.experimentId, variantId: variant.variantId, variant: variant.name, recommender: variant.recommender };
    },

    /**
     * The customer's list on a placement: their variant's while an experiment runs there, else the served
     * recommender's; then the merchandising rules in force (on more candidates, so a boost can lift one).
     */
    async serve(customerId: number, options: RecommendOptions, placement = DEFAULT_PLACEMENT): Promise<ServedList> {
      const first = options.first ?? 10;
      const rules = merchandising ? await merchandising.active() : [];
      const experiment = (await runningExperiments()).get(placement);
      const variant = experiment && (await recordAssignment(experiment, customerId));
      // The pins' cart check runs alongside the variant's query, not after it.
      const variantCarted = variant && rules.length && merchandising ? merchandising.cartedPins(customerId, rules) : undefined;
      variantCarted?.catch(() => undefined);
      const candidatesFor = async (n: number): Promise<{ candidates: Recommendation[]; carted?: Promise<Set<number>> }> => {
        const read = { ...options, first: n };
        if (variant) return { candidates: await serveVariant({ pool, recommender }, variant, customerId, read), carted: variantCarted };
        // The served recommender tells which pinned products are in the cart from its own query.
        const served = await recommender.recommendWatching(customerId, read, pinnedProducts(rules));
        return { candidates: served.items, carted: Promise.resolve(served.inCart) };
      };
      let items: Recommendation[];
      if (!rules.length || !merchandising) items = (await candidatesFor(first)).candidates;
      else {
        // Rules read more candidates, so a boost can lift one from below the cut; when filters leave the list short
        // while the recommender had more, it reads again with a larger pool (up to MAX_CANDIDATES).
        const now = new Date();
        let n = Math.max(first, Math.min(MAX_CANDIDATES, first * OVERFETCH));
        for (;;) {
          const { candidates, carted } = await candidatesFor(n);
          items = await merchandising.apply(customerId, candidates, first, rules, now, carted);
          if (items.length >= first || candidates.length < n || n >= MAX_CANDIDATES) break;
          n = Math.min(MAX_CANDIDATES, n * 4);
        }
      }
      if (!experiment || !variant) return { items };
      return {
        items,
        arm: { experimentId: experiment.experimentId, variantId: variant.variantId, variant: variant.name, recommender: variant.recommender },
      };
    },

    /**
     * Calls `listener` with the id of each experiment whose live results the Flink job writes (a trigger's
     * NOTIFY, so a re-read sees them). Returns the unsubscribe; resolves once listening.
     */
    async onResults(listener: ExperimentListener): Promise<() => void> {
      resultsListeners.add(listener);
      await results.start();
      return () => resultsListeners.delete(listener);
    },
    /** Ends the results listener. */
    close: () => results.close(),
    /** Calls `listener` with the id of every experiment created, started or stopped by this process. Returns the unsubscribe. */
    onChange(listener: ExperimentListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type Experiments = ReturnType<typeof createExperiments>;
