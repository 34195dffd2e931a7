import { describe, expect, it } from 'vitest';
import { splitHistories } from '../../src/recommend/evaluation/split.js';
import {
  type Candidate,
  DEFAULT_RANKER,
  fitRanker,
  packCase,
  parseRanker,
  RANKER_FEATURES,
  type RankerFeature,
  rankerOf,
  scoreCases,
} from '../../src/recommend/ranker.js';

const F = RANKER_FEATURES.length;
const at = (feature: RankerFeature) => RANKER_FEATURES.indexOf(feature);
/** A candidate whose only signals are the given ones. */
const cand = (productId: number, signals: Partial<Record<RankerFeature, number>>, extra: Partial<Candidate> = {}): Candidate => {
  const features = new Array<number>(F).fill(0);
  for (const [f, v] of Object.entries(signals)) features[at(f as RankerFeature)] = v!;
  return { productId, categoryId: productId, features, bought: false, inCart: false, ...extra };
};
const only = (feature: RankerFeature, maxCategoryShare = 1) => rankerOf((f) => (f === feature ? 1 : 0), maxCategoryShare);
const never = () => false;

describe('the served ranker', () => {
  it('scores lists as serving ranks them: weighted sum, ties by product id, exclusions, HR@10 and NDCG@10 by hand', () => {
    // Held-out item 2 ranks second by popularity (1/log2(3) = 0.6309); item 9 is in the cart and item 8 was bought: never listed.
    const a = packCase(
      [cand(1, { popular: 0.9 }), cand(2, { popular: 0.5 }), cand(9, { popular: 1 }, { inCart: true }), cand(8, { popular: 1 }, { bought: true })],
      new Set([2]),
      never,
    );
    expect(Array.from(a.ids)).toEqual([1, 2]);
    // Items 3 and 4 tie; 3 comes first by id, so held-out 4 is second.
    const b = packCase([cand(4, { popular: 0.5 }), cand(3, { popular: 0.5 })], new Set([4]), never);
    // No held-out item among the candidates: a miss.
    const c = packCase([cand(5, { popular: 1 })], new Set([6]), never);
    const s = scoreCases([a, b, c], only('popular'));
    expect(s.hr).toBeCloseTo(2 / 3, 12);
    expect(s.ndcg).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(3)) / 3, 12);
    // A repurchasable bought item stays a candidate.
    expect(Array.from(packCase([cand(8, { popular: 1 }, { bought: true })], new Set([8]), () => true).ids)).toEqual([8]);
  });

  it('keeps at most the category share of a list from one category, filling up with the rest when nothing else is left', () => {
    // Twelve products of category 1 outrank the held-out product of category 2; a share of 0.5 lets five of category 1 in, then it.
    const crowded = Array.from({ length: 12 }, (_, i) => ({ ...cand(100 + i, { popular: 1 - i / 100 }), categoryId: 1 }));
    const fit = packCase([...crowded, { ...cand(7, { popular: 0.1 }), categoryId: 2 }], new Set([7]), never);
    expect(scoreCases([fit], only('popular', 1)).hr).toBe(0);
    const diverse = scoreCases([fit], only('popular', 0.5));
    expect(diverse.hr).toBe(1);
    expect(diverse.ndcg).toBeCloseTo(1 / Math.log2(7), 12);
  });

  it('fits weights that find the signal which predicts the held-out items, and reports both against the defaults', () => {
    // In every case the held-out product has the strongest recent popularity, while the affinity signal (weighted
    // 16 by default) points at a decoy: the fit must move weight to popularRecent.
    const cases = Array.from({ length: 60 }, (_, i) => {
      const target = 9000 + i; // above the decoys: a tie (every score 0) ranks the decoys first
      const candidates = [
        cand(target, { popularRecent: 1, affinity: 0 }),
        ...Array.from({ length: 15 }, (_, j) => cand(2000 + i * 20 + j, { popularRecent: 0.2 + j / 100, affinity: 0.5 + j / 100 })),
      ];
      return packCase(candidates, new Set([target]), never);
    });
    const fit = fitRanker(cases);
    expect(fit.defaults.hr).toBeLessThan(0.5);
    expect(fit.fitted.hr).toBe(1);
    expect(fit.fitted.ndcg).toBe(1);
    expect(fit.ranker.weights.popularRecent).toBeGreaterThan(0);
    expect(fit.ranker.weights.popularRecent).toBeGreaterThan(fit.ranker.weights.affinity);
    expect(fit.cases).toBe(60);
    expect(fit.evaluations).toBeGreaterThan(10);
  });

  it('keeps the defaults when no weight set does better', () => {
    const cases = Array.from({ length: 40 }, (_, i) => packCase([cand(10 + i, { affinity: 1 }), cand(500 + i, { popular: 1 })], new Set([10 + i]), never));
    const fit = fitRanker(cases);
    expect(fit.fitted).toEqual(fit.defaults);
    expect(fit.ranker).toEqual(DEFAULT_RANKER);
  });

  it('reads stored weights strictly: unknown signals default to 0, bad values are refused with the fix', () => {
    expect(parseRanker({ weights: { popular: 2 }, maxCategoryShare: 0.5 }, 'row')).toEqual({
      weights: { ...Object.fromEntries(RANKER_FEATURES.map((f) => [f, 0])), popular: 2 },
      maxCategoryShare: 0.5,
    });
    expect(() => parseRanker({ weights: { popular: -1 } }, 'row')).toThrow(/popular must be a number ≥ 0/);
    expect(() => parseRanker({ weights: { popular: 'x' } }, 'row')).toThrow(/popular/);
    expect(() => parseRanker({ weights: {}, maxCategoryShare: 0 }, 'row')).toThrow(/maxCategoryShare must be in \(0, 1\]/);
    expect(() => parseRanker(null, 'rec_ranker row')).toThrow(/rtrec train/);
  });
});

describe('the session split', () => {
  const min = 60_000;
  it("holds out a user's last action when it continues a visit and its item is new to them", () => {
    const split = splitHistories(
      [
        // Continues the visit (10 min after the previous action), new item 3: tested.
        [
          1,
          [
            { item: 1, at: 0, weight: 1 },
            { item: 2, at: 5 * min, weight: 1 },
            { item: 3, at: 15 * min, weight: 1 },
          ],
        ],
        // A new visit (two hours later): not tested, everything trains.
        [
          2,
          [
            { item: 1, at: 0, weight: 1 },
            { item: 4, at: 120 * min, weight: 3 },
          ],
        ],
        // Continues the visit but goes back to an item seen before: nothing new to predict.
        [
          3,
          [
            { item: 1, at: 0, weight: 1 },
            { item: 2, at: 1 * min, weight: 1 },
            { item: 1, at: 2 * min, weight: 5 },
          ],
        ],
        // A single moment: nothing to learn from.
        [4, [{ item: 5, at: 0, weight: 1 }]],
      ],
      { kind: 'session', gapMinutes: 30 },
    );
    expect(split.tests).toEqual([{ user: 1, asOf: new Date(15 * min), heldOut: new Set([3]) }]);
    expect([...split.train.get(1)!.keys()]).toEqual([1, 2]);
    expect([...split.train.get(2)!.keys()]).toEqual([1, 4]);
    expect(split.train.has(4)).toBe(true);
  });
});
