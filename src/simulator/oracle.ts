import type pg from 'pg';
import type { Recommender, RecommenderEntry, TrainData } from '../recommend/evaluation/recommender.js';
import { affinity } from './shopper.js';
import { loadWorld, type Tastes, type World } from './world.js';

/**
 * The `oracle` reference row: not a recommender the API serves, but the simulator's ground truth. It ranks
 * the products a simulated shopper can choose (active ones) by that customer's hidden taste score — the
 * `affinity` the shopper model draws its views, wishlists and purchases with (category weight × product
 * popularity × price fit × favourite boost) — leaving out what the customer bought in train, as the other
 * rows do. It shows how far knowing the tastes themselves gets on the same held-out items; it does not know
 * which product the customer viewed last (a shopper buys mostly from its last few views), so a recommender
 * that follows recent views can come close to it or pass it.
 */

/** Why the oracle cannot be computed on this database, or undefined when the simulator's tastes are there. */
export async function oracleUnavailableReason(pool: pg.Pool): Promise<string | undefined> {
  const { rows } = await pool.query<{ tastes: boolean; traits: boolean }>(
    `SELECT to_regclass('sim_customer_tastes') IS NOT NULL AS tastes, to_regclass('sim_product_traits') IS NOT NULL AS traits`,
  );
  const missing = "no ground truth: the simulator's hidden tastes (sim_customer_tastes, sim_product_traits) are not in this database";
  if (!rows[0]?.tastes || !rows[0].traits) return missing;
  const filled = await pool.query<{ tastes: boolean; traits: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM sim_customer_tastes) AS tastes, EXISTS (SELECT 1 FROM sim_product_traits) AS traits',
  );
  return filled.rows[0]?.tastes && filled.rows[0].traits ? undefined : `${missing} (the tables are empty: this history was not made by \`rtrec generate\`)`;
}

/** Ranks products for customers by their hidden tastes in `world` (the simulator's own scoring). */
export function tasteOracle(world: World, train: TrainData): Recommender {
  const tastesOf = new Map<number, Tastes>(world.customers.map((t) => [t.customerId, t]));
  return {
    name: 'oracle',
    async recommend(customerId, k) {
      const tastes = tastesOf.get(customerId);
      if (!tastes) return [];
      const history = train.users.get(customerId);
      const scored: { id: number; score: number }[] = [];
      for (const product of world.activeProducts) {
        if (history?.get(product.productId)?.purchased) continue;
        scored.push({ id: product.productId, score: affinity(world, tastes, product) });
      }
      return scored
        .sort((a, b) => b.score - a.score || a.id - b.id)
        .slice(0, k)
        .map((s) => s.id);
    },
  };
}

/** The oracle on the shop database's simulator tables. */
export async function createOracle(pool: pg.Pool, train: TrainData): Promise<Recommender> {
  return tasteOracle(await loadWorld(pool), train);
}

/** The reference row computed from the simulator's hidden tastes: ground truth, not a served recommender. */
export const ORACLE = 'oracle (ground truth)';

/** The oracle as a row of `rtrec evaluate` (added by the composition root next to the platform's recommenders). */
export const ORACLE_ENTRY: RecommenderEntry = {
  name: ORACLE,
  description:
    "ground truth, not a recommender: active products ranked by the customer's hidden taste score (the simulator's affinity), an upper reference for the other rows",
  sources: ['shop'],
  unavailableReason: ({ pool }) => oracleUnavailableReason(pool),
  create: ({ pool, train }) => createOracle(pool, train),
};
