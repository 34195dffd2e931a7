import type pg from 'pg';
import { createRng } from '../../common/random.js';
import type { Db } from '../../database/database.js';
import { AppError } from '../../errors.js';
import type { RankerWeights } from '../ranker.js';
import type { Recommender as ServedRecommender } from '../serving.js';
import { historySpan, streamHistories } from './interactions.js';
import { type RankedCase, scoreCases } from './metrics.js';
import type { EvaluationSource, ModelOptions, RecommenderDeps, RecommenderEntry } from './recommender.js';
import { EVALUATION_ROWS } from './registry.js';
import { createSplitBuilder, defaultCutoff, SESSION_GAP_MINUTES, type SplitKind, type SplitSpec, type TestCase } from './split.js';

export interface EvaluateOptions {
  source: EvaluationSource;
  split: SplitKind;
  /** Time split only; default: the start of the last 20% of the history's time span. */
  cutoff?: Date;
  /** Session split only: the longest gap between two actions of one visit (default SESSION_GAP_MINUTES). */
  sessionGapMinutes?: number;
  /** HR, NDCG and coverage are computed on the top `k`, recall on the top `recallK`. */
  k: number;
  recallK: number;
  seed: number;
  /** Evaluate a seeded sample of at most this many test users (all when unset). */
  maxUsers?: number;
  /** Only these rows (names of the registry); every row by default. */
  recommenders?: readonly string[];
  /** Options of the collaborative-filtering baselines (tuned defaults when unset). */
  models?: ModelOptions;
}

export interface StepReporter {
  update(done: number): void;
  stop(): void;
}

export interface EvaluationDeps {
  db: Db;
  pool: pg.Pool;
  /** The rows to compute (the composition root's `evaluationRecommenders`). */
  recommenders: readonly RecommenderEntry[];
  /** The served recommender on a given pool (the composition root's `recommenderOn`). */
  servedOn(pool: pg.Pool): ServedRecommender;
  /** Opens a progress report for a long step (a progress bar in the CLI). */
  startStep?: (label: string, total: number, unit: string) => StepReporter;
}

export interface EvaluationRow {
  recommender: string;
  hitRate: number;
  ndcg: number;
  recall: number;
  coverage: number;
  elapsedMs: number;
  /** `ours`: the ranker weights fitted on the train part, and their validation HR@10 / NDCG@10 against the defaults. */
  ranker?: { weights: RankerWeights; validation: { cases: number; fitted: { hr: number; ndcg: number }; defaults: { hr: number; ndcg: number } } };
}

export interface EvaluationReport {
  source: EvaluationSource;
  split: SplitKind;
  /** ISO time of the time split's cutoff; null for leave-last-out. */
  cutoff: string | null;
  history: { from: string; to: string; events: number; users: number };
  trainEvents: number;
  /** Users with interactions in both parts, and those of them with held-out items (the evaluated ones). */
  usersInBothParts: number;
  testUsers: number;
  evaluatedUsers: number;
  heldOutItems: number;
  catalogueSize: number;
  k: number;
  recallK: number;
  seed: number;
  rows: EvaluationRow[];
  /** Expected rows that could not be computed, with the reason (never a made-up row). */
  unavailable: { recommender: string; reason: string }[];
  elapsedMs: number;
}

const noStep: StepReporter = { update: () => undefined, stop: () => undefined };

/** Runs `task` over `items` with at most `limit` in flight, reporting progress. */
async function mapConcurrent<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>, onDone: (done: number) => void): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
      onDone(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function noHistoryHint(source: EvaluationSource): string {
  return source === 'shop'
    ? 'The shop database has no interactions to evaluate: add some with `npx rtrec generate` and `npx rtrec simulate --historical 30`.'
    : 'There are no imported events to evaluate: load a log with `npx rtrec import events --csv <file> --map ...`.';
}

/**
 * Offline evaluation: splits the history once, then asks every registered recommender for the same test
 * users at the same moments and scores all of them with the same metrics.
 */
export async function evaluate(deps: EvaluationDeps, options: EvaluateOptions): Promise<EvaluationReport> {
  const started = Date.now();
  const startStep = deps.startStep ?? (() => noStep);
  const span = await historySpan(deps.pool, options.source);
  if (!span) throw new AppError('BAD_USER_INPUT', noHistoryHint(options.source));

  let spec: SplitSpec;
  if (options.split === 'time') {
    const cutoff = options.cutoff ?? defaultCutoff(span.from, span.to);
    if (cutoff <= span.from || cutoff > span.to) {
      throw new AppError(
        'BAD_USER_INPUT',
        `--cutoff ${cutoff.toISOString()} is outside the history (${span.from.toISOString()} … ${span.to.toISOString()}): choose a moment inside it, or leave it out for the last 20%.`,
      );
    }
    spec = { kind: 'time', cutoff };
  } else if (options.split === 'session') {
    spec = { kind: 'session', gapMinutes: options.sessionGapMinutes ?? SESSION_GAP_MINUTES };
  } else {
    spec = { kind: 'leave-last-out' };
  }

  const builder = createSplitBuilder(spec);
  const load = startStep('load', span.events, 'events');
  const { catalogue } = await streamHistories(deps.pool, options.source, builder.addUser, (rows) => load.update(rows)).finally(() => load.stop());
  const split = builder.finish();
  if (split.tests.length === 0) {
    const fix = spec.kind === 'time' ? 'choose an earlier --cutoff, or use --split leave-last-out' : 'add more history';
    throw new AppError('BAD_USER_INPUT', `No user has held-out items (wishlist, cart or purchase) after interactions to learn from: ${fix}.`);
  }

  let tests: TestCase[] = split.tests;
  if (options.maxUsers !== undefined && tests.length > options.maxUsers) {
    tests = createRng(options.seed)
      .fork('sample')
      .shuffle([...tests])
      .slice(0, options.maxUsers);
  }

  const train = { users: split.train, catalogue };
  const available = deps.recommenders;
  const names = [...EVALUATION_ROWS, ...available.map((r) => r.name).filter((n) => !(EVALUATION_ROWS as readonly string[]).includes(n))];
  const rows: EvaluationRow[] = [];
  const unavailable: EvaluationReport['unavailable'] = [];
  const depth = Math.max(options.k, options.recallK);
  let fitted: EvaluationRow['ranker'];
  let fitStep: StepReporter | undefined;
  const recommenderDeps: RecommenderDeps = {
    source: options.source,
    train,
    db: deps.db,
    pool: deps.pool,
    seed: options.seed,
    servedOn: deps.servedOn,
    split: spec,
    tests,
    onFitProgress: (done, total) => {
      fitStep ??= startStep('ours: fit ranker', total, 'customers');
      if (done % 50 === 0 || done === total) fitStep.update(done);
      if (done === total) fitStep.stop();
    },
    onFit: (fit) => {
      fitted = { weights: fit.ranker, validation: { cases: fit.cases, fitted: fit.fitted, defaults: fit.defaults } };
    },
    models: options.models ?? {},
  };
  // A row is chosen by its name or its first word ("oracle" for "oracle (ground truth)").
  const short = (name: string) => name.split(' ')[0]!;
  if (options.recommenders) {
    const unknown = options.recommenders.filter((n) => !names.some((name) => name === n || short(name) === n));
    if (unknown.length > 0)
      throw new AppError('BAD_USER_INPUT', `Unknown recommender ${unknown.join(', ')} in --recommenders: choose from ${names.map(short).join(', ')}.`);
  }
  for (const name of names) {
    if (options.recommenders && !options.recommenders.includes(name) && !options.recommenders.includes(short(name))) continue;
    const entry = available.find((r) => r.name === name);
    if (!entry) {
      unavailable.push({ recommender: name, reason: 'not available yet (no recommender registered under this name)' });
      continue;
    }
    if (!entry.sources.includes(options.source)) {
      unavailable.push({ recommender: name, reason: `cannot be evaluated on --source ${options.source} (supports: ${entry.sources.join(', ')})` });
      continue;
    }
    if (entry.splits && !entry.splits.includes(spec.kind)) {
      unavailable.push({ recommender: name, reason: `cannot be evaluated on --split ${spec.kind} (supports: ${entry.splits.join(', ')})` });
      continue;
    }
    const reason = await entry.unavailableReason?.(recommenderDeps);
    if (reason) {
      unavailable.push({ recommender: name, reason });
      continue;
    }
    const t0 = Date.now();
    fitted = undefined;
    const recommender = await entry.create(recommenderDeps);
    const step = startStep(name, tests.length, 'users');
    const cases: RankedCase[] = await mapConcurrent(
      tests,
      8,
      async (test) => ({ recommended: await recommender.recommend(test.user, depth, test.asOf), heldOut: test.heldOut }),
      (done) => {
        if (done % 50 === 0 || done === tests.length) step.update(done);
      },
    ).finally(() => {
      step.stop();
      return (recommender as { close?: () => Promise<void> }).close?.();
    });
    rows.push({ recommender: name, ...scoreCases(cases, options, catalogue.length), elapsedMs: Date.now() - t0, ...(fitted ? { ranker: fitted } : {}) });
  }

  return {
    source: options.source,
    split: spec.kind,
    cutoff: spec.kind === 'time' ? spec.cutoff.toISOString() : null,
    history: { from: span.from.toISOString(), to: span.to.toISOString(), events: span.events, users: split.stats.users },
    trainEvents: split.stats.trainEvents,
    usersInBothParts: split.stats.usersInBothParts,
    testUsers: split.tests.length,
    evaluatedUsers: tests.length,
    heldOutItems: tests.reduce((n, t) => n + t.heldOut.size, 0),
    catalogueSize: catalogue.length,
    k: options.k,
    recallK: options.recallK,
    seed: options.seed,
    rows,
    unavailable,
    elapsedMs: Date.now() - started,
  };
}
