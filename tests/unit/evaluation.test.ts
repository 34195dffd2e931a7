import { describe, expect, it } from 'vitest';
import { createRng, WeightedSampler } from '../../src/common/random.js';
import { createCsvReader } from '../../src/importer/csv.js';
import { parseColumnMapping, parseTimestamp, parseTypeMapping } from '../../src/importer/mapping.js';
import { createItemKnn, mostPopular, popularityRanking, randomItems } from '../../src/recommend/evaluation/baselines.js';
import { coverage, hitRate, ndcg, type RankedCase, recall, scoreCases } from '../../src/recommend/evaluation/metrics.js';
import type { TrainData } from '../../src/recommend/evaluation/recommender.js';
import { defaultCutoff, EVENT_WEIGHTS, splitHistories, type UserEvent } from '../../src/recommend/evaluation/split.js';
import { tasteOracle } from '../../src/simulator/oracle.js';
import { affinity } from '../../src/simulator/shopper.js';
import type { Tastes, World, WorldProduct } from '../../src/simulator/world.js';
import { trainData } from '../helpers/train.js';

const { view_product: VIEW, add_to_wishlist: WISH, add_to_cart: CART, purchase: BUY } = EVENT_WEIGHTS;

describe('ranking metrics on three users with known lists', () => {
  // User A: held-out {1, 2}, hits at ranks 1 and 3.  User B: held-out {9}, hit at rank 2.  User C: held-out {7}, no hit.
  const cases: RankedCase[] = [
    { recommended: [1, 5, 2, 6], heldOut: new Set([1, 2]) },
    { recommended: [5, 9, 6, 1], heldOut: new Set([9]) },
    { recommended: [5, 6, 1, 2], heldOut: new Set([7]) },
  ];

  it('hit rate is the share of users with a held-out item in the top k', () => {
    expect(hitRate(cases, 1)).toBeCloseTo(1 / 3, 12);
    expect(hitRate(cases, 2)).toBeCloseTo(2 / 3, 12);
    expect(hitRate(cases, 4)).toBeCloseTo(2 / 3, 12);
  });

  it('NDCG divides the DCG by the ideal DCG of min(k, |held-out|) relevant items', () => {
    const a = (1 + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3)); // hits at ranks 1 and 3, two held-out
    const b = 1 / Math.log2(3); // hit at rank 2, one held-out
    expect(ndcg(cases, 3)).toBeCloseTo((a + b + 0) / 3, 12);
    expect(ndcg(cases, 3)).toBeCloseTo(0.5168835, 6);
    // At k = 1 only A's first item counts, and A's ideal is a single hit.
    expect(ndcg(cases, 1)).toBeCloseTo(1 / 3, 12);
  });

  it('recall is hits in the top k over the held-out set size, averaged over users', () => {
    expect(recall(cases, 2)).toBeCloseTo((1 / 2 + 1 + 0) / 3, 12);
    expect(recall(cases, 4)).toBeCloseTo((2 / 2 + 1 + 0) / 3, 12);
  });

  it('coverage is the distinct recommended items over the catalogue size', () => {
    expect(coverage(cases, 2, 10)).toBeCloseTo(4 / 10, 12); // {1, 5, 9, 6}
    expect(coverage(cases, 4, 10)).toBeCloseTo(5 / 10, 12); // {1, 2, 5, 6, 9}
    expect(scoreCases(cases, { k: 3, recallK: 4 }, 10)).toEqual({ hitRate: 2 / 3, ndcg: expect.closeTo(0.5168835, 6), recall: 2 / 3, coverage: 0.5 });
  });

  it('treat an empty evaluation as zero rather than dividing by nothing', () => {
    expect(scoreCases([], { k: 10, recallK: 20 }, 0)).toEqual({ hitRate: 0, ndcg: 0, recall: 0, coverage: 0 });
  });
});

const DAY = 86_400_000;
const e = (item: number, day: number, weight: number): UserEvent => ({ item, at: day * DAY, weight });

describe('splits', () => {
  const histories: [number, UserEvent[]][] = [
    // 1: bought item 1 in train, buys it again and carts 2 in test → held-out {2}.
    [1, [e(1, 1, BUY), e(3, 2, VIEW), e(1, 8, BUY), e(2, 9, CART), e(4, 9, VIEW)]],
    // 2: only views in test → in both parts but nothing held out.
    [2, [e(1, 1, VIEW), e(2, 8, VIEW)]],
    // 3: only train.
    [3, [e(1, 2, WISH), e(3, 3, BUY)]],
    // 4: only test (a new user): not evaluated, contributes nothing to train.
    [4, [e(2, 8, BUY)]],
  ];

  it('a time split trains on everything before the cutoff and holds out new positive items after it', () => {
    const cutoff = new Date(5 * DAY);
    const split = splitHistories(histories, { kind: 'time', cutoff });
    expect(split.tests).toEqual([{ user: 1, asOf: cutoff, heldOut: new Set([2]) }]);
    expect([...split.train.keys()]).toEqual([1, 2, 3]);
    expect(split.train.get(1)).toEqual(
      new Map([
        [1, { weight: BUY, purchased: true }],
        [3, { weight: VIEW, purchased: false }],
      ]),
    );
    expect(split.stats).toEqual({ users: 4, events: 10, trainEvents: 5, usersInBothParts: 2, heldOutItems: 1 });
  });

  it('leave-last-out holds out each user’s last positive item and trains on what came before it', () => {
    const split = splitHistories(histories, { kind: 'leave-last-out' });
    // User 1: last positive is the cart add of 2 on day 9; train = days 1–8 (item 1 bought twice).
    // User 3: last positive is item 3 on day 3; train = the wishlist of item 1.
    expect(split.tests).toEqual([
      { user: 1, asOf: new Date(9 * DAY), heldOut: new Set([2]) },
      { user: 3, asOf: new Date(3 * DAY), heldOut: new Set([3]) },
    ]);
    expect(split.train.get(1)!.get(1)).toEqual({ weight: 2 * BUY, purchased: true });
    expect(split.train.get(1)!.has(4)).toBe(false); // the view at the held-out moment is not training data
    expect(split.train.get(2)!.size).toBe(2); // no positive event: the whole history trains
    expect(split.train.has(4)).toBe(false); // the only event is the held-out one
  });

  it('the default cutoff leaves the last 20% of the time span for testing', () => {
    expect(defaultCutoff(new Date(0), new Date(10 * DAY))).toEqual(new Date(8 * DAY));
  });
});

describe('baselines', () => {
  // user × item matrix (rows users 1–3, columns items 10, 20, 30, 40):
  //   u1: 1 1 0 0   u2: 1 1 1 0   u3: 0 0 1 1
  const train = trainData({ 1: { 10: 1, 20: 1 }, 2: { 10: 1, 20: 1, 30: 1 }, 3: { 30: 1, 40: 1 } }, [10, 20, 30, 40, 50], { 2: [30] });

  it('item-knn uses the cosine of the item columns (unshrunk with shrink 0)', () => {
    const knn = createItemKnn(train, { shrink: 0 });
    expect(knn.similarity(10, 20)).toBeCloseTo(1, 12); // identical columns
    expect(knn.similarity(10, 30)).toBeCloseTo(1 / 2, 12); // 1 / (√2 · √2)
    expect(knn.similarity(30, 40)).toBeCloseTo(1 / Math.SQRT2, 12); // 1 / (√2 · 1)
    expect(knn.similarity(10, 40)).toBe(0);
  });

  it('item-knn scores items by summed similarity to the user’s items and never returns what they bought', async () => {
    const knn = createItemKnn(train).recommender;
    // u1 (items 10, 20): 10 ← sim(20,10) = 1, 20 ← 1, 30 ← 1/2 + 1/2 = 1, 40 ← 0 (not a neighbour).
    expect(await knn.recommend(1, 3, new Date())).toEqual([10, 20, 30]);
    // u3 (30, 40): 40 ← 1/√2, 30 ← 1/√2, 10 ← 1/2, 20 ← 1/2.
    expect(await knn.recommend(3, 4, new Date())).toEqual([30, 40, 10, 20]);
    // u2 bought 30: it is left out although it scores.
    expect(await knn.recommend(2, 5, new Date())).not.toContain(30);
    expect(await knn.recommend(99, 5, new Date())).toEqual([]);
  });

  it('most-popular ranks by total weight and skips the user’s purchases', async () => {
    expect(popularityRanking(train)).toEqual([10, 20, 30, 40]); // 2, 2, 2, 1: ties by id
    expect(await mostPopular(train).recommend(2, 2, new Date())).toEqual([10, 20]);
    expect(await mostPopular(train).recommend(2, 3, new Date())).toEqual([10, 20, 40]);
  });

  it('random draws distinct catalogue items, reproducibly per seed and customer', async () => {
    const a = await randomItems(train, 7).recommend(2, 3, new Date());
    expect(new Set(a).size).toBe(3);
    expect(a).not.toContain(30);
    expect(await randomItems(train, 7).recommend(2, 3, new Date())).toEqual(a);
    expect((await randomItems(train, 7).recommend(2, 10, new Date())).sort()).toEqual([10, 20, 40, 50]);
  });
});

/**
 * A small simulated world: 4 categories of 10 products (popularity falling with the id inside a category,
 * prices around 10), product 40 inactive; 40 customers who each put 85% of their interest on one category,
 * with two favourite products and their own price sensitivity.
 */
function tasteWorld(): World {
  const rng = createRng(11);
  const products: WorldProduct[] = Array.from({ length: 40 }, (_, i) => ({
    productId: i + 1,
    categoryId: Math.floor(i / 10) + 1,
    priceCents: 500 + rng.int(0, 1000),
    popularity: 1 / (1 + (i % 10)),
    complements: [],
    isActive: i + 1 !== 40,
    stock: 10,
  }));
  const categories = [1, 2, 3, 4];
  const productsByCategory = new Map(categories.map((c) => [c, products.filter((p) => p.categoryId === c && p.isActive)]));
  const customers: Tastes[] = Array.from({ length: 40 }, (_, i) => ({
    customerId: i + 1,
    categoryWeights: new Map(categories.map((c) => [c, c === (i % 4) + 1 ? 0.85 : 0.05])),
    priceSensitivity: rng.next(),
    favoriteProducts: [rng.int(1, 40), rng.int(1, 40)],
    activity: 10,
  }));
  return {
    products: new Map(products.map((p) => [p.productId, p])),
    activeProducts: products.filter((p) => p.isActive),
    categories,
    productsByCategory,
    customers,
    medianPrice: new Map(categories.map((c) => [c, 1000])),
    categorySampler: () => undefined,
  };
}

describe('the oracle (ground truth of the simulator)', () => {
  const world = tasteWorld();
  const noTrain: TrainData = { users: new Map(), catalogue: [...world.products.keys()] };

  it('ranks the active products by the shopper model’s affinity and leaves out what the customer bought', async () => {
    const tastes = world.customers[0]!;
    const expected = world.activeProducts
      .map((p) => ({ id: p.productId, a: affinity(world, tastes, p) }))
      .sort((a, b) => b.a - a.a || a.id - b.id)
      .map((x) => x.id);
    expect(await tasteOracle(world, noTrain).recommend(1, 39, new Date())).toEqual(expected);
    const bought = trainData({ 1: { [expected[0]!]: BUY, [expected[2]!]: VIEW } }, [...noTrain.catalogue], { 1: [expected[0]!] });
    expect(await tasteOracle(world, bought).recommend(1, 3, new Date())).toEqual([expected[1], expected[2], expected[3]]);
    expect(await tasteOracle(world, noTrain).recommend(1, 50, new Date())).not.toContain(40);
    expect(await tasteOracle(world, noTrain).recommend(999, 5, new Date())).toEqual([]);
  });

  it('finds items drawn the way shoppers choose far more often than random or a taste-blind popularity ranking', async () => {
    // Held-out items: three draws per customer with probability ∝ affinity, as Shopper.pickByTaste draws them.
    const rng = createRng(5);
    const heldOut = new Map(
      world.customers.map((t) => {
        const sampler = new WeightedSampler(
          world.activeProducts,
          world.activeProducts.map((p) => affinity(world, t, p)),
        );
        return [t.customerId, new Set(Array.from({ length: 3 }, () => sampler.draw(rng).productId))];
      }),
    );
    const byPopularity = [...world.activeProducts].sort((a, b) => b.popularity - a.popularity || a.productId - b.productId).map((p) => p.productId);
    const score = async (recommend: (customerId: number) => Promise<number[]> | number[]) =>
      hitRate(await Promise.all(world.customers.map(async (t) => ({ recommended: await recommend(t.customerId), heldOut: heldOut.get(t.customerId)! }))), 5);
    const oracle = await score((c) => tasteOracle(world, noTrain).recommend(c, 5, new Date()));
    const random = await score((c) => randomItems(noTrain, 3).recommend(c, 5, new Date()));
    const blind = await score(() => byPopularity.slice(0, 5));
    expect(oracle).toBeGreaterThan(0.8);
    expect(oracle).toBeGreaterThan(2 * random);
    expect(oracle).toBeGreaterThan(1.5 * blind);
  });
});

describe('CSV import parsing', () => {
  it('reads quoted fields, doubled quotes, CRLF, a BOM and newlines inside quotes across chunks', () => {
    const reader = createCsvReader();
    const text = '\uFEFFuser,item,note\r\n1,"a,b","say ""hi"""\r\n2,x,"two\nlines"\n\n3,y,';
    const records = [...reader.push(text.slice(0, 20)), ...reader.push(text.slice(20)), ...reader.end()];
    expect(records).toEqual([
      { line: 1, fields: ['user', 'item', 'note'] },
      { line: 2, fields: ['1', 'a,b', 'say "hi"'] },
      { line: 3, fields: ['2', 'x', 'two\nlines'] },
      { line: 6, fields: ['3', 'y', ''] },
    ]);
  });

  it('column and type mappings name the fix when they are wrong', () => {
    expect(parseColumnMapping('user=u,item=i,type=t,timestamp=ts,price=p')).toEqual({ user: 'u', item: 'i', type: 't', timestamp: 'ts', price: 'p' });
    expect(() => parseColumnMapping('user=u,item=i,type=t')).toThrow(/timestamp is not mapped/);
    expect(() => parseColumnMapping('user=u,item=i,type=t,timestamp=ts,colour=c')).toThrow(/unknown field "colour"/);
    expect(() => parseColumnMapping('user')).toThrow(/not a name=value pair/);
    expect(parseTypeMapping('addtocart=add_to_cart,x=skip')).toMatchObject({
      addtocart: 'add_to_cart',
      x: 'skip',
      view_product: 'view_product',
      place_order: 'purchase',
    });
    expect(() => parseTypeMapping('buy=bought')).toThrow(/"bought" \(for "buy"\) is not a type/);
  });

  it('timestamps are ISO 8601 (UTC unless a zone is given) or epoch seconds or milliseconds', () => {
    expect(parseTimestamp('2026-01-31T12:00:00Z')).toEqual(new Date('2026-01-31T12:00:00Z'));
    expect(parseTimestamp('2026-01-31 12:00:00')).toEqual(new Date('2026-01-31T12:00:00Z'));
    expect(parseTimestamp('2026-01-31T12:00:00+02:00')).toEqual(new Date('2026-01-31T10:00:00Z'));
    expect(parseTimestamp('2026-01-31')).toEqual(new Date('2026-01-31T00:00:00Z'));
    expect(parseTimestamp('1433221332')).toEqual(new Date(1433221332_000));
    expect(parseTimestamp('1433221332117')).toEqual(new Date(1433221332117));
    for (const bad of ['yesterday', '2026-13-01', '', '31/01/2026']) expect(parseTimestamp(bad), bad).toBeNull();
  });
});
