import type pg from 'pg';
import { toCents } from '../common/money.js';
import { WeightedSampler } from '../common/random.js';
import { AppError } from '../errors.js';

export interface WorldProduct {
  productId: number;
  categoryId: number;
  priceCents: number;
  popularity: number;
  complements: number[];
  isActive: boolean;
  stock: number;
}

export interface Tastes {
  customerId: number;
  categoryWeights: Map<number, number>;
  priceSensitivity: number;
  favoriteProducts: number[];
  activity: number;
}

/** The catalogue and the customers' hidden tastes, loaded once per simulation run. */
export interface World {
  products: Map<number, WorldProduct>;
  activeProducts: WorldProduct[];
  categories: number[];
  productsByCategory: Map<number, WorldProduct[]>;
  customers: Tastes[];
  /** Median price per category, the reference for price sensitivity. */
  medianPrice: Map<number, number>;
  /** Popularity-weighted sampler per category. */
  categorySampler(categoryId: number): WeightedSampler<WorldProduct> | undefined;
}

const NEUTRAL_ACTIVITY = 10;

export async function loadWorld(pool: pg.Pool): Promise<World> {
  const [products, categories, customers] = await Promise.all([
    pool.query<{
      product_id: number;
      category_id: number;
      price: string;
      stock: number;
      is_active: boolean;
      popularity: number | null;
      complements: number[] | null;
    }>(
      `SELECT p.product_id, p.category_id, p.price::text, p.stock, p.is_active, t.popularity, t.complements
         FROM products p LEFT JOIN sim_product_traits t USING (product_id) ORDER BY p.product_id`,
    ),
    pool.query<{ category_id: number }>('SELECT category_id FROM categories ORDER BY category_id'),
    pool.query<{
      customer_id: number;
      category_weights: Record<string, number> | null;
      price_sensitivity: number | null;
      favorite_products: number[] | null;
      activity: number | null;
    }>(
      `SELECT c.customer_id, t.category_weights, t.price_sensitivity, t.favorite_products, t.activity
         FROM customers c LEFT JOIN sim_customer_tastes t USING (customer_id) ORDER BY c.customer_id`,
    ),
  ]);
  if (customers.rowCount === 0 || products.rowCount === 0) {
    throw new AppError('BAD_USER_INPUT', 'There are no customers or products to simulate. Run `npx rtrec generate` first.');
  }
  const map = new Map<number, WorldProduct>();
  for (const r of products.rows) {
    map.set(r.product_id, {
      productId: r.product_id,
      categoryId: r.category_id,
      priceCents: toCents(r.price),
      stock: r.stock,
      isActive: r.is_active,
      popularity: r.popularity ?? 0.01,
      complements: r.complements ?? [],
    });
  }
  const activeProducts = [...map.values()].filter((p) => p.isActive);
  const productsByCategory = new Map<number, WorldProduct[]>();
  for (const p of activeProducts) productsByCategory.set(p.categoryId, [...(productsByCategory.get(p.categoryId) ?? []), p]);
  const medianPrice = new Map<number, number>();
  for (const [cat, list] of productsByCategory) {
    const sorted = list.map((p) => p.priceCents).sort((a, b) => a - b);
    medianPrice.set(cat, sorted[Math.floor(sorted.length / 2)] ?? 1);
  }
  const catIds = categories.rows.map((r) => r.category_id);
  const samplers = new Map<number, WeightedSampler<WorldProduct>>();
  return {
    products: map,
    activeProducts,
    categories: catIds,
    productsByCategory,
    medianPrice,
    customers: customers.rows.map((r) => ({
      customerId: r.customer_id,
      // Customers without recorded tastes (e.g. created outside the generator) browse uniformly.
      categoryWeights: new Map(
        Object.entries(r.category_weights ?? Object.fromEntries(catIds.map((c) => [c, 1 / catIds.length]))).map(([k, v]) => [Number(k), v]),
      ),
      priceSensitivity: r.price_sensitivity ?? 0.5,
      favoriteProducts: r.favorite_products ?? [],
      activity: r.activity ?? NEUTRAL_ACTIVITY,
    })),
    categorySampler(categoryId) {
      if (!samplers.has(categoryId)) {
        const list = productsByCategory.get(categoryId);
        if (!list?.length) return undefined;
        samplers.set(
          categoryId,
          new WeightedSampler(
            list,
            list.map((p) => p.popularity),
          ),
        );
      }
      return samplers.get(categoryId);
    },
  };
}
