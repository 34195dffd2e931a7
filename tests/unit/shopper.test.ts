import { describe, expect, it } from 'vitest';
import { createRng, WeightedSampler } from '../../src/common/random.js';
import { ACTION_WEIGHTS } from '../../src/simulator/behaviour.js';
import { affinity, clickProbability, MixBalancer, Shopper } from '../../src/simulator/shopper.js';
import type { Tastes, World, WorldProduct } from '../../src/simulator/world.js';

function world(): World {
  const products: WorldProduct[] = [];
  for (let i = 1; i <= 40; i++) {
    products.push({
      productId: i,
      categoryId: i <= 20 ? 1 : 2,
      priceCents: 1000 + i * 10,
      popularity: 1,
      complements: i <= 20 ? [i + 20] : [],
      isActive: true,
      stock: 100,
    });
  }
  const map = new Map(products.map((p) => [p.productId, p]));
  const byCat = new Map([
    [1, products.slice(0, 20)],
    [2, products.slice(20)],
  ]);
  return {
    products: map,
    activeProducts: products,
    categories: [1, 2],
    productsByCategory: byCat,
    customers: [],
    medianPrice: new Map([
      [1, 1100],
      [2, 1300],
    ]),
    categorySampler: (c) =>
      new WeightedSampler(
        byCat.get(c)!,
        byCat.get(c)!.map(() => 1),
      ),
  };
}

const tastes: Tastes = {
  customerId: 1,
  categoryWeights: new Map([
    [1, 0.9],
    [2, 0.1],
  ]),
  priceSensitivity: 0.5,
  favoriteProducts: [3],
  activity: 10,
};

describe('simulated shopper', () => {
  it('prefers the categories it has a taste for', () => {
    const w = world();
    const shopper = new Shopper(w, tastes, createRng(1));
    let inFavourite = 0;
    for (let i = 0; i < 2000; i++) {
      const action = shopper.plan('view_product');
      if (action?.type === 'view_product' && w.products.get(action.productId)!.categoryId === 1) inFavourite++;
    }
    expect(inFavourite / 2000).toBeGreaterThan(0.7);
  });

  it('scores cheaper items higher when it is price sensitive', () => {
    const w = world();
    const cheap = w.products.get(1)!;
    const dear = { ...cheap, priceCents: cheap.priceCents * 4 };
    expect(affinity(w, tastes, cheap)).toBeGreaterThan(affinity(w, tastes, dear));
  });

  it('cannot remove from an empty cart and buys now when ordering with one', () => {
    const shopper = new Shopper(world(), tastes, createRng(2));
    expect(shopper.plan('remove_from_cart')).toBeUndefined();
    const order = shopper.plan('place_order');
    expect(order?.type === 'place_order' && order.buyNow?.quantity).toBe(1);
  });

  it('makes up actions that could not happen, so the mix follows the weights', () => {
    const balancer = new MixBalancer();
    const rng = createRng(3);
    const counts: Record<string, number> = {};
    let performed = 0;
    for (let session = 0; session < 400; session++) {
      const shopper = new Shopper(world(), tastes, rng, balancer);
      for (let step = 0; step < 25; step++) {
        const type = shopper.chooseAction();
        const action = shopper.plan(type);
        if (!action) {
          shopper.couldNot(type);
          continue;
        }
        shopper.applied(action, { paid: true });
        counts[type] = (counts[type] ?? 0) + 1;
        performed++;
      }
    }
    for (const [type, weight] of Object.entries(ACTION_WEIGHTS)) {
      expect(Math.abs((counts[type] ?? 0) / performed - weight), type).toBeLessThan(0.02);
    }
  });

  it('clicks a shown product more often the better it matches, and less often lower in the list', () => {
    expect(clickProbability(8, 1)).toBeGreaterThan(3 * clickProbability(1, 1));
    expect(clickProbability(1, 1)).toBeGreaterThan(3 * clickProbability(0.2, 1));
    expect(clickProbability(1, 1)).toBeGreaterThan(clickProbability(1, 6));
    expect(clickProbability(0, 1)).toBe(0);
    expect(clickProbability(1e9, 1)).toBeLessThanOrEqual(0.5);
  });

  it('opens recommendations of its favourite category several times as often as the others', () => {
    const w = world();
    const shopper = new Shopper(w, tastes, createRng(4));
    const rng = createRng(5);
    // Lists that alternate the two categories, so position cannot explain the difference.
    const shown = Array.from({ length: 8 }, (_, i) => ({ productId: i % 2 ? 25 + i : 5 + i, position: i + 1 }));
    const clicks = { 1: 0, 2: 0 };
    const lists = 5000;
    for (let i = 0; i < lists; i++) for (const c of shopper.chooseClicks(shown, rng)) clicks[w.products.get(c.productId)!.categoryId as 1 | 2]++;
    // 20 000 impressions per category: taste 0.9 against 0.1 gives a ratio near 6; ignoring taste, about 1.1 (odd positions are examined a little more).
    expect(clicks[1] / (clicks[2] || 1)).toBeGreaterThan(3);
    expect(clicks[2]).toBeGreaterThan(0);
  });

  it('is more likely to open what goes with its cart', () => {
    const w = world();
    const shopper = new Shopper(w, tastes, createRng(6));
    const before = shopper.relativeAffinity(24);
    shopper.cart.set(4, 1);
    expect(shopper.relativeAffinity(24)).toBeCloseTo(3 * before, 10);
    expect(shopper.relativeAffinity(999)).toBe(0);
  });
});
