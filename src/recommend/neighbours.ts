import type pg from 'pg';
import { inTransaction } from '../database/transaction.js';
import { AppError } from '../errors.js';
import type { UserHistory } from './evaluation/split.js';
import { ITEM_KNN_DEFAULTS } from './models/defaults.js';
import { type EaseBackend, type EaseModel, easeNeighbours, fitEase, trainEase } from './models/ease.js';
import { fitItemKnn, knnNeighbours } from './models/item-knn.js';
import { buildInteractionMatrix, type InteractionMatrix } from './models/matrix.js';
import type { NeighbourRow } from './models/rank.js';

/*
 * The learned long-term signals of serving, both fitted on the binary customer × product matrix of
 * rec_customer_product — what Flink maintains, or its as-of copy in an evaluation schema — and stored as each
 * product's strongest neighbours in rec_model_neighbours, which serving reads through its (model, product_a,
 * score) index: item-kNN (shrunk cosine, the strongest CF baseline on the grocery log in bench/RESULTS.md) and
 * EASE (the strongest on catalogues with dense co-consumption, such as the simulated shop) over the most
 * popular products. The ranker's weights decide how much each counts in a shop.
 */

/** The model names of the rows in rec_model_neighbours. */
export const NEIGHBOUR_MODEL = 'item-knn';
export const EASE_MODEL = 'ease';
/** Neighbours stored per product (serving reads at most this many per recent item). */
export const STORED_NEIGHBOURS = 50;
/**
 * Products EASE models for serving (the most popular): numpy inverts 3,000 in ~2 s (5,000 in ~8 s); without Python the
 * in-process inverse (ml-matrix) takes 7 s at 1,000, so it models fewer (and training says so).
 */
export const SERVED_EASE_ITEMS: Record<EaseBackend, number> = { numpy: 3000, js: 1000 };

export interface NeighbourResult {
  customers: number;
  products: number;
  interactions: number;
  /** Item-kNN rows stored. */
  rows: number;
  /** EASE: rows stored, products modelled, the backend and its seconds. */
  ease: { rows: number; items: number; backend: EaseBackend; seconds: number };
  seconds: number;
}

export interface NeighbourOptions {
  /** Where EASE's inverse runs (default numpy; js when Python cannot provide numpy, with a warning). */
  easeBackend?: EaseBackend;
  log?: (message: string) => void;
}

/** EASE on the chosen backend; numpy unavailable → the in-process inverse on fewer products, said in the log. */
async function servedEase(matrix: InteractionMatrix, options: NeighbourOptions): Promise<EaseModel> {
  const backend = options.easeBackend ?? 'numpy';
  if (backend === 'js') return fitEase(matrix, { items: SERVED_EASE_ITEMS.js });
  try {
    return await trainEase(matrix, { items: SERVED_EASE_ITEMS.numpy, backend, log: options.log });
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'PYTHON_UNAVAILABLE') throw error;
    options.log?.(`${error.message} Falling back to EASE in process on the ${SERVED_EASE_ITEMS.js} most popular products.`);
    return fitEase(matrix, { items: SERVED_EASE_ITEMS.js });
  }
}

/** Replaces `model`'s rows of `schema`.rec_model_neighbours (inside the caller's transaction). */
async function storeRows(client: pg.PoolClient, schema: string, model: string, rows: readonly NeighbourRow[]): Promise<void> {
  await client.query(`DELETE FROM ${schema}.rec_model_neighbours WHERE model = $1`, [model]);
  for (let i = 0; i < rows.length; i += 10_000) {
    const chunk = rows.slice(i, i + 10_000);
    await client.query(
      `INSERT INTO ${schema}.rec_model_neighbours (model, product_a, product_b, score)
       SELECT $1, * FROM unnest($2::int[], $3::int[], $4::float8[])`,
      [model, chunk.map((n) => n.item), chunk.map((n) => n.neighbour), chunk.map((n) => n.score)],
    );
  }
}

/** Fits item-kNN and EASE on `schema`.rec_customer_product and replaces their rows of `schema`.rec_model_neighbours (one transaction). */
export async function trainNeighbours(pool: pg.Pool, schema = 'public', options: NeighbourOptions = {}): Promise<NeighbourResult> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const started = Date.now();
  const { rows } = await pool.query<{ customer_id: number; items: number[] }>(
    `SELECT customer_id, array_agg(product_id ORDER BY product_id) AS items FROM ${schema}.rec_customer_product GROUP BY customer_id`,
  );
  const users = new Map<number, UserHistory>();
  const products = new Set<number>();
  let interactions = 0;
  for (const r of rows) {
    const history: UserHistory = new Map();
    for (const item of r.items) {
      history.set(item, { weight: 1, purchased: false });
      products.add(item);
    }
    interactions += r.items.length;
    users.set(r.customer_id, history);
  }
  const catalogue = [...products].sort((a, b) => a - b);
  const matrix = buildInteractionMatrix({ users, catalogue }, { values: 'binary' });
  const model = fitItemKnn(matrix, { shrink: ITEM_KNN_DEFAULTS.shrink, neighbours: STORED_NEIGHBOURS });
  const neighbours = knnNeighbours(model, STORED_NEIGHBOURS).filter((n) => n.score > 0);
  const easeStarted = Date.now();
  const ease = catalogue.length > 0 ? await servedEase(matrix, options) : undefined;
  const easeRows = ease ? easeNeighbours(ease, STORED_NEIGHBOURS) : [];
  const easeSeconds = (Date.now() - easeStarted) / 1000;
  await inTransaction(pool, async (client) => {
    await storeRows(client, schema, NEIGHBOUR_MODEL, neighbours);
    await storeRows(client, schema, EASE_MODEL, easeRows);
  });
  await pool.query(`ANALYZE ${schema}.rec_model_neighbours`);
  return {
    customers: users.size,
    products: catalogue.length,
    interactions,
    rows: neighbours.length,
    ease: { rows: easeRows.length, items: ease?.items.length ?? 0, backend: ease?.options.backend ?? options.easeBackend ?? 'numpy', seconds: easeSeconds },
    seconds: (Date.now() - started) / 1000,
  };
}
