import { inverse, Matrix } from 'ml-matrix';
import { AppError } from '../../errors.js';
import type { Recommender, TrainData } from '../evaluation/recommender.js';
import { EASE_DEFAULTS, EASE_ITEMS, EASE_MAX_ITEMS } from './defaults.js';
import { easeWeightsNumpy, type ModelledCsr, type NumpyFitStats } from './ease-numpy.js';
import { columnCounts, type InteractionMatrix, popularityOrder } from './matrix.js';
import { type Exclusion, type NeighbourRow, scoringRecommender } from './rank.js';

/** Where EASE's inverse runs: numpy (LAPACK, the default) or ml-matrix in process (no Python needed). */
export type EaseBackend = 'numpy' | 'js';

export interface EaseOptions {
  /** L2 regularisation λ added to the Gram matrix's diagonal. */
  lambda?: number;
  /**
   * Fit on the `items` most popular items only (by users who have them); the rest score 0. EASE inverts a
   * dense items×items matrix, O(n³) in time and O(n²) in memory (default: EASE_ITEMS of the backend);
   * bench/RESULTS.md, "Recommendation models on real logs" has the measured times.
   */
  items?: number;
  /** Default numpy; `js` keeps everything in process (ml-matrix, ~100× slower). */
  backend?: EaseBackend;
  /** Progress lines (the numpy virtualenv being made on first use). */
  log?: (message: string) => void;
}

/** A fitted EASE: B (n×n, row-major, zero diagonal) over the modelled items. */
export interface EaseModel {
  matrix: InteractionMatrix;
  options: { lambda: number; items: number; backend: EaseBackend };
  /** Matrix item index of each modelled item (position in B). */
  items: Int32Array;
  /** Position in B of each matrix item index, -1 when the item is not modelled. */
  position: Int32Array;
  /** B[i·n + j]: what item j gains from a user having item i (float32 from numpy, float64 from ml-matrix). */
  weights: Float64Array | Float32Array;
  /** numpy's report of the fit (its phases and peak memory). */
  worker?: NumpyFitStats;
}

/** The `count` most popular item indexes (ties: lower index), ascending by index. */
function popularItems(m: InteractionMatrix, count: number): Int32Array {
  const counts = columnCounts(m);
  return popularityOrder(counts)
    .filter((i) => counts[i]! > 0)
    .slice(0, count)
    .sort();
}

/** The modelled items and the user rows restricted to them (columns renumbered 0..n-1). */
function modelled(m: InteractionMatrix, count: number): { items: Int32Array; position: Int32Array; csr: ModelledCsr } {
  const items = popularItems(m, count);
  if (items.length > EASE_MAX_ITEMS) {
    throw new AppError(
      'BAD_USER_INPUT',
      `EASE inverts a dense items×items matrix and ${items.length} items exceed its limit of ${EASE_MAX_ITEMS}: pass a smaller \`items\` (--ease-items; the most popular items are kept, and n items need 8·n² bytes twice), or use item-knn or iALS for this catalogue.`,
      { items: items.length, limit: EASE_MAX_ITEMS },
    );
  }
  const position = new Int32Array(m.itemIds.length).fill(-1);
  for (const [p, i] of items.entries()) position[i] = p;
  const { csr } = m;
  const indptr = new Int32Array(m.userIds.length + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let u = 0; u < m.userIds.length; u++) {
    for (let q = csr.indptr[u]!; q < csr.indptr[u + 1]!; q++) {
      const p = position[csr.indices[q]!]!;
      if (p >= 0) {
        indices.push(p);
        data.push(csr.data[q]!);
      }
    }
    indptr[u + 1] = indices.length;
  }
  return {
    items,
    position,
    csr: { users: m.userIds.length, items: items.length, indptr, indices: Int32Array.from(indices), data: Float64Array.from(data) },
  };
}

/** B from the restricted rows with ml-matrix: Gram matrix XᵀX (Σ_u of each row's outer product) + λI, inverted. */
function easeWeightsJs(csr: ModelledCsr, lambda: number): Float64Array {
  const n = csr.items;
  const gram = Array.from({ length: n }, () => new Float64Array(n));
  for (let u = 0; u < csr.users; u++) {
    const lo = csr.indptr[u]!;
    const hi = csr.indptr[u + 1]!;
    for (let a = lo; a < hi; a++) {
      const row = gram[csr.indices[a]!]!;
      const va = csr.data[a]!;
      for (let b = lo; b < hi; b++) row[csr.indices[b]!]! += va * csr.data[b]!;
    }
  }
  for (let i = 0; i < n; i++) gram[i]![i]! += lambda;
  const P = inverse(new Matrix(gram));
  const weights = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = P.getRow(i);
    for (let j = 0; j < n; j++) if (i !== j) weights[i * n + j] = -row[j]! / P.get(j, j);
  }
  return weights;
}

/**
 * EASE (Steck 2019): B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, i.e. B_ij = −P_ij / P_jj off the
 * diagonal and 0 on it, in process (ml-matrix). Throws BAD_USER_INPUT above EASE_MAX_ITEMS modelled items.
 */
export function fitEase(m: InteractionMatrix, options: EaseOptions = {}): EaseModel {
  const lambda = options.lambda ?? EASE_DEFAULTS.lambda;
  const { items, position, csr } = modelled(m, options.items ?? EASE_ITEMS.js);
  return { matrix: m, options: { lambda, items: items.length, backend: 'js' }, items, position, weights: easeWeightsJs(csr, lambda) };
}

/** EASE on the chosen backend (default numpy: all items up to EASE_ITEMS.numpy in minutes rather than days). */
export async function trainEase(m: InteractionMatrix, options: EaseOptions = {}): Promise<EaseModel> {
  const backend = options.backend ?? 'numpy';
  if (backend === 'js') return fitEase(m, options);
  const lambda = options.lambda ?? EASE_DEFAULTS.lambda;
  const { items, position, csr } = modelled(m, options.items ?? EASE_ITEMS.numpy);
  const { weights, stats } = await easeWeightsNumpy(csr, lambda, { log: options.log });
  return { matrix: m, options: { lambda, items: items.length, backend }, items, position, weights, worker: stats };
}

/** A user's score for every matrix item: Σ over the user's modelled items i of value(u, i) · B[i, ·]. */
export function easeScorer(model: EaseModel): (u: number) => Float64Array {
  const { csr } = model.matrix;
  const n = model.items.length;
  const dense = new Float64Array(n);
  const scores = new Float64Array(model.matrix.itemIds.length);
  return (u) => {
    dense.fill(0);
    for (let q = csr.indptr[u]!; q < csr.indptr[u + 1]!; q++) {
      const p = model.position[csr.indices[q]!]!;
      if (p < 0) continue;
      const v = csr.data[q]!;
      const base = p * n;
      for (let j = 0; j < n; j++) dense[j]! += v * model.weights[base + j]!;
    }
    // Unmodelled items score 0: the same as an item no co-occurrence supports.
    scores.fill(0);
    for (let j = 0; j < n; j++) scores[model.items[j]!] = dense[j]!;
    return scores;
  };
}

/** The model as a Recommender over the train data it was fitted on. */
export function easeRecommender(model: EaseModel, train: TrainData, exclusion: Exclusion = 'purchased', name = 'ease'): Recommender {
  return scoringRecommender(name, train, model.matrix, easeScorer(model), exclusion);
}

/**
 * The serving table: for each modelled item i, the `n` targets j with the largest B_ij (positive only), so
 * serving sums the rows of a user's items exactly as the scorer does, through an index on `item`.
 */
export function easeNeighbours(model: EaseModel, n: number): NeighbourRow[] {
  const rows: NeighbourRow[] = [];
  const size = model.items.length;
  const ids = model.matrix.itemIds;
  for (let i = 0; i < size; i++) {
    const order: number[] = [];
    for (let j = 0; j < size; j++) if (model.weights[i * size + j]! > 0) order.push(j);
    order.sort((a, b) => model.weights[i * size + b]! - model.weights[i * size + a]! || a - b);
    for (const j of order.slice(0, n)) rows.push({ item: ids[model.items[i]!]!, neighbour: ids[model.items[j]!]!, score: model.weights[i * size + j]! });
  }
  return rows;
}
