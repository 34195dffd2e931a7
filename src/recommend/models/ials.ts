import { createRng } from '../../common/random.js';
import type { Recommender, TrainData } from '../evaluation/recommender.js';
import { IALS_DEFAULTS } from './defaults.js';
import type { Compressed, InteractionMatrix } from './matrix.js';
import { type Exclusion, scoringRecommender } from './rank.js';

export interface IalsOptions {
  factors?: number;
  /** L2 regularisation added to YᵀY (as implicit does, not scaled by the user's item count). */
  regularization?: number;
  /** Confidence of an observed entry: 1 + alpha · value (Hu, Koren, Volinsky 2008). */
  alpha?: number;
  iterations?: number;
  /** Conjugate-gradient steps per user/item and iteration, warm-started from the previous factors. */
  cgSteps?: number;
  seed?: number;
}

/** The reference's hyper-parameters (shared/datasets/README.md) with implicit's iteration and CG defaults. */

/** Fitted factors, row-major: user u is `users[u·f .. u·f + f)`, item i likewise in `items`. */
export interface IalsModel {
  matrix: InteractionMatrix;
  options: Required<IalsOptions>;
  users: Float64Array;
  items: Float64Array;
}

/** YᵀY + reg·I (f×f, row-major). */
function gramian(Y: Float64Array, f: number, reg: number): Float64Array {
  const g = new Float64Array(f * f);
  for (let base = 0; base < Y.length; base += f) {
    for (let a = 0; a < f; a++) {
      const ya = Y[base + a]!;
      if (ya === 0) continue;
      const row = a * f;
      for (let b = 0; b < f; b++) g[row + b]! += ya * Y[base + b]!;
    }
  }
  for (let a = 0; a < f; a++) g[a * f + a]! += reg;
  return g;
}

const dotAt = (x: Float64Array, xo: number, y: Float64Array, yo: number, f: number) => {
  let s = 0;
  for (let k = 0; k < f; k++) s += x[xo + k]! * y[yo + k]!;
  return s;
};

/**
 * One half-step: for every line l of `lines` (users for X, items for Y), solve
 * (YᵀY + Yᵀ(Cₗ − I)Y + reg·I) xₗ = YᵀCₗpₗ approximately by `cgSteps` of conjugate gradient from xₗ.
 */
function solveSide(lines: Compressed, X: Float64Array, Y: Float64Array, f: number, opts: Required<IalsOptions>): void {
  const YtY = gramian(Y, f, opts.regularization);
  const r = new Float64Array(f);
  const p = new Float64Array(f);
  const Ap = new Float64Array(f);
  const count = lines.indptr.length - 1;
  for (let l = 0; l < count; l++) {
    const start = lines.indptr[l]!;
    const end = lines.indptr[l + 1]!;
    if (start === end) continue;
    const xo = l * f;
    // r = b − A x, with b = Σ c·y (preference 1) and A x = YᵀY x + Σ (c − 1)(y·x) y.
    for (let a = 0; a < f; a++) r[a] = -dotAt(YtY, a * f, X, xo, f);
    for (let q = start; q < end; q++) {
      const c = 1 + opts.alpha * lines.data[q]!;
      const yo = lines.indices[q]! * f;
      const w = c - (c - 1) * dotAt(Y, yo, X, xo, f);
      for (let a = 0; a < f; a++) r[a]! += w * Y[yo + a]!;
    }
    p.set(r);
    let rsold = dotAt(r, 0, r, 0, f);
    if (rsold < 1e-20) continue;
    for (let step = 0; step < opts.cgSteps; step++) {
      for (let a = 0; a < f; a++) Ap[a] = dotAt(YtY, a * f, p, 0, f);
      for (let q = start; q < end; q++) {
        const c = 1 + opts.alpha * lines.data[q]!;
        const yo = lines.indices[q]! * f;
        const w = (c - 1) * dotAt(Y, yo, p, 0, f);
        for (let a = 0; a < f; a++) Ap[a]! += w * Y[yo + a]!;
      }
      const step_ = rsold / dotAt(p, 0, Ap, 0, f);
      for (let a = 0; a < f; a++) {
        X[xo + a]! += step_ * p[a]!;
        r[a]! -= step_ * Ap[a]!;
      }
      const rsnew = dotAt(r, 0, r, 0, f);
      if (rsnew < 1e-20) break;
      for (let a = 0; a < f; a++) p[a] = r[a]! + (rsnew / rsold) * p[a]!;
      rsold = rsnew;
    }
  }
}

/**
 * Implicit ALS (Hu, Koren, Volinsky 2008) with conjugate-gradient solves (Takács et al. 2011, as in
 * implicit). Factors start uniform in [0, 0.01) from `seed`; the same seed and data give the same factors.
 */
export function fitIals(m: InteractionMatrix, options: IalsOptions = {}): IalsModel {
  const opts = { ...IALS_DEFAULTS, ...options };
  const f = opts.factors;
  const rng = createRng(opts.seed);
  const users = Float64Array.from({ length: m.userIds.length * f }, () => rng.next() * 0.01);
  const items = Float64Array.from({ length: m.itemIds.length * f }, () => rng.next() * 0.01);
  for (let it = 0; it < opts.iterations; it++) {
    solveSide(m.csr, users, items, f, opts);
    solveSide(m.csc, items, users, f, opts);
  }
  return { matrix: m, options: opts, users, items };
}

/** A user's score for every item: the dot product of the factor vectors. */
export function ialsScorer(model: IalsModel): (u: number) => Float64Array {
  const f = model.options.factors;
  const n = model.matrix.itemIds.length;
  const scores = new Float64Array(n);
  return (u) => {
    const uo = u * f;
    for (let i = 0; i < n; i++) scores[i] = dotAt(model.items, i * f, model.users, uo, f);
    return scores;
  };
}

/** The model as a Recommender over the train data it was fitted on. */
export function ialsRecommender(model: IalsModel, train: TrainData, exclusion: Exclusion = 'purchased', name = 'ials'): Recommender {
  return scoringRecommender(name, train, model.matrix, ialsScorer(model), exclusion);
}

/** The serving tables: one factor vector per user id and per item id (plain arrays, ready for a float4[] column). */
export function ialsFactors(model: IalsModel): { users: { user: number; vector: number[] }[]; items: { item: number; vector: number[] }[] } {
  const f = model.options.factors;
  return {
    users: model.matrix.userIds.map((user, u) => ({ user, vector: Array.from(model.users.subarray(u * f, u * f + f)) })),
    items: model.matrix.itemIds.map((item, i) => ({ item, vector: Array.from(model.items.subarray(i * f, i * f + f)) })),
  };
}
