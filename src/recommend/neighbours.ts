import type pg from 'pg';
import { inTransaction } from '../database/transaction.js';
import type { UserHistory } from './evaluation/split.js';
import { ITEM_KNN_DEFAULTS } from './models/defaults.js';
import { fitItemKnn, knnNeighbours } from './models/item-knn.js';
import { buildInteractionMatrix } from './models/matrix.js';

/*
 * The learned long-term signal of serving: item-kNN (shrunk cosine, the strongest CF baseline on the real logs
 * in bench/RESULTS.md) fitted on the binary customer × product matrix of rec_customer_product — what Flink
 * maintains, or its as-of copy in an evaluation schema — and stored as each product's strongest neighbours in
 * rec_model_neighbours, which serving reads through its (model, product_a, score) index.
 */

/** The model name of the item-kNN rows in rec_model_neighbours. */
export const NEIGHBOUR_MODEL = 'item-knn';
/** Neighbours stored per product (serving reads at most this many per recent item). */
export const STORED_NEIGHBOURS = 50;

export interface NeighbourResult {
  customers: number;
  products: number;
  interactions: number;
  rows: number;
  seconds: number;
}

/** Fits item-kNN on `schema`.rec_customer_product and replaces `schema`.rec_model_neighbours' item-kNN rows (one transaction). */
export async function trainNeighbours(pool: pg.Pool, schema = 'public'): Promise<NeighbourResult> {
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
  const model = fitItemKnn(buildInteractionMatrix({ users, catalogue }, { values: 'binary' }), {
    shrink: ITEM_KNN_DEFAULTS.shrink,
    neighbours: STORED_NEIGHBOURS,
  });
  const neighbours = knnNeighbours(model, STORED_NEIGHBOURS).filter((n) => n.score > 0);
  await inTransaction(pool, async (client) => {
    await client.query(`DELETE FROM ${schema}.rec_model_neighbours WHERE model = $1`, [NEIGHBOUR_MODEL]);
    for (let i = 0; i < neighbours.length; i += 10_000) {
      const chunk = neighbours.slice(i, i + 10_000);
      await client.query(
        `INSERT INTO ${schema}.rec_model_neighbours (model, product_a, product_b, score)
         SELECT $1, * FROM unnest($2::int[], $3::int[], $4::float8[])`,
        [NEIGHBOUR_MODEL, chunk.map((n) => n.item), chunk.map((n) => n.neighbour), chunk.map((n) => n.score)],
      );
    }
  });
  await pool.query(`ANALYZE ${schema}.rec_model_neighbours`);
  return { customers: users.size, products: catalogue.length, interactions, rows: neighbours.length, seconds: (Date.now() - started) / 1000 };
}
