import type pg from 'pg';
import type { Db } from '../../database/database.js';
import type { EaseOptions } from '../models/ease.js';
import type { IalsOptions } from '../models/ials.js';
import type { ItemKnnOptions } from '../models/item-knn.js';
import type { Recommender as ServedRecommender } from '../serving.js';
import type { TrainResult } from '../train.js';
import type { SplitSpec, TestCase, UserHistory } from './split.js';

/**
 * Anything that ranks items for a customer. The evaluation asks each recommender for the same users at the
 * same moments and scores the lists against the same held-out items.
 */
export interface Recommender {
  readonly name: string;
  /**
   * Up to `k` item ids for the customer, best first, as the recommender would have served them at `asOf`.
   * A recommender that reads the shop database must use only rows from before `asOf`: the evaluation
   * database also holds the test period.
   */
  recommend(customerId: number, k: number, asOf: Date): Promise<number[]>;
}

/** Where the evaluated history comes from: the shop's own tables, or a log loaded by `rtrec import events`. */
export type EvaluationSource = 'shop' | 'imported';
export const EVALUATION_SOURCES: readonly EvaluationSource[] = ['shop', 'imported'];

/** The train part of a split, which in-memory baselines are fitted on. */
export interface TrainData {
  users: ReadonlyMap<number, UserHistory>;
  /** Every item a recommender may return (shop: all products; imported: every item in the log). */
  catalogue: readonly number[];
}

/** Options of the collaborative-filtering baselines. Their train matrix is binary (every interaction counts 1). */
export interface ModelOptions {
  knn?: ItemKnnOptions;
  ease?: EaseOptions;
  ials?: IalsOptions;
}

/** What a registered recommender may be built from. */
export interface RecommenderDeps {
  source: EvaluationSource;
  train: TrainData;
  /** The database the history was read from; a serving recommender reads it as of each test moment. */
  db: Db;
  pool: pg.Pool;
  seed: number;
  /** The split being evaluated (`ours` fits its ranker on the same protocol). */
  split: SplitSpec;
  /** The split's test cases (leave-last-out: each user's own moment), for recommenders that rebuild state per user. */
  tests: readonly TestCase[];
  /** Model options (rtrec evaluate's --knn-*, --ease-*, --ials-* flags); each model's tuned defaults otherwise. */
  models: ModelOptions;
  /** The recommender the API serves, with its configured options, on a given pool (the composition root's). */
  servedOn(pool: pg.Pool): ServedRecommender;
  /** `ours` reports its ranker's fit on the train part (validation figures, weights) and its progress. */
  onFit?(fit: TrainResult): void;
  onFitProgress?(done: number, total: number): void;
}

/** One entry of the evaluation registry (registry.ts). */
export interface RecommenderEntry {
  name: string;
  description: string;
  /** Sources it can be evaluated on: one that reads the shop tables cannot serve an imported log. */
  sources: readonly EvaluationSource[];
  /** Splits it supports (all when omitted): features rebuilt as of one cutoff need the time split. */
  splits?: readonly SplitSpec['kind'][];
  /** Why it cannot be evaluated on this database (e.g. data it needs is missing); undefined when it can. */
  unavailableReason?(deps: RecommenderDeps): Promise<string | undefined>;
  create(deps: RecommenderDeps): Recommender | Promise<Recommender>;
}
