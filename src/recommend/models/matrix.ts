import type { TrainData } from '../evaluation/recommender.js';

/**
 * The sparse user×item interaction matrix every collaborative-filtering model is fitted on, in both
 * compressed layouts: rows (CSR, user → items) for scoring a user and fitting user factors, columns (CSC,
 * item → users) for item similarities and item factors. Users and items get dense indexes 0..n-1 so the
 * models can use typed arrays instead of maps.
 */

export type FloatArray = Float32Array | Float64Array;

/** One compressed layout: entries of line `l` are `indices[indptr[l] .. indptr[l + 1])` with `data` alongside. */
export interface Compressed {
  indptr: Int32Array;
  indices: Int32Array;
  data: FloatArray;
}

export interface InteractionMatrix {
  /** User id of each row. */
  userIds: readonly number[];
  /** Item id of each column: the catalogue plus any train item missing from it, in ascending id order. */
  itemIds: readonly number[];
  userIndex: ReadonlyMap<number, number>;
  itemIndex: ReadonlyMap<number, number>;
  /** Rows: user → items, indices ascending within a row. */
  csr: Compressed;
  /** Columns: item → users, indices ascending within a column. */
  csc: Compressed;
  /** Number of stored entries. */
  nnz: number;
}

export interface MatrixOptions {
  /**
   * `binary`: every (user, item) that occurred counts 1 (the reference protocol); `weight`: the summed event
   * weights of the split (EVENT_WEIGHTS), so a purchase counts more than a view.
   */
  values?: 'binary' | 'weight';
  /** Float32 halves the memory of large logs; Float64 keeps exact sums for tests and small data. */
  precision?: 32 | 64;
}

/** Builds both layouts of the train matrix; users without train items get an empty row. */
export function buildInteractionMatrix(train: TrainData, options: MatrixOptions = {}): InteractionMatrix {
  const binary = (options.values ?? 'binary') === 'binary';
  const Float = options.precision === 64 ? Float64Array : Float32Array;

  const items = new Set<number>(train.catalogue);
  for (const history of train.users.values()) for (const item of history.keys()) items.add(item);
  const itemIds = [...items].sort((a, b) => a - b);
  const itemIndex = new Map(itemIds.map((id, i) => [id, i]));
  const userIds = [...train.users.keys()].sort((a, b) => a - b);
  const userIndex = new Map(userIds.map((id, u) => [id, u]));

  let nnz = 0;
  for (const history of train.users.values()) nnz += history.size;
  const indptr = new Int32Array(userIds.length + 1);
  const indices = new Int32Array(nnz);
  const data = new Float(nnz);
  let at = 0;
  userIds.forEach((user, u) => {
    const row = [...train.users.get(user)!].map(([item, h]) => [itemIndex.get(item)!, binary ? 1 : h.weight] as const).sort((a, b) => a[0] - b[0]);
    for (const [i, v] of row) {
      indices[at] = i;
      data[at++] = v;
    }
    indptr[u + 1] = at;
  });
  const csr = { indptr, indices, data };
  return { userIds, itemIds, userIndex, itemIndex, csr, csc: transpose(csr, itemIds.length), nnz };
}

/** The other compressed layout of the same matrix (CSR ↔ CSC), with `width` lines in the result. */
export function transpose(m: Compressed, width: number): Compressed {
  const lines = m.indptr.length - 1;
  const indptr = new Int32Array(width + 1);
  for (let n = 0; n < m.indices.length; n++) indptr[m.indices[n]! + 1]!++;
  for (let i = 0; i < width; i++) indptr[i + 1]! += indptr[i]!;
  const next = indptr.slice(0, width);
  const indices = new Int32Array(m.indices.length);
  const data = new (m.data.constructor as Float64ArrayConstructor | Float32ArrayConstructor)(m.indices.length);
  // Walking the lines in order keeps each output line's indices ascending.
  for (let l = 0; l < lines; l++) {
    for (let n = m.indptr[l]!; n < m.indptr[l + 1]!; n++) {
      const at = next[m.indices[n]!]!++;
      indices[at] = l;
      data[at] = m.data[n]!;
    }
  }
  return { indptr, indices, data };
}

/** Number of stored entries of each column (item popularity in users for a binary matrix). */
export function columnCounts(m: InteractionMatrix): Int32Array {
  const counts = new Int32Array(m.itemIds.length);
  for (let i = 0; i < counts.length; i++) counts[i] = m.csc.indptr[i + 1]! - m.csc.indptr[i]!;
  return counts;
}

/** Item indexes by their column counts, most first (ties: lower index, as the indexes follow ascending ids). */
export function popularityOrder(counts: Int32Array): Int32Array {
  return Int32Array.from(counts.keys()).sort((a, b) => counts[b]! - counts[a]! || a - b);
}
