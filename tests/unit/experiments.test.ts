import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { variantParams, variantSpec } from '../../src/cli/options.js';
import { createRng } from '../../src/common/random.js';
import { AppError } from '../../src/errors.js';
import { assignmentPoint, assignVariant, variantAt } from '../../src/experiments/assignment.js';
import { validateExperimentInput } from '../../src/experiments/experiments.js';
import { parseVariantParams, variantRanker } from '../../src/experiments/recommenders.js';
import { withStatistics } from '../../src/experiments/results.js';
import { logGamma, normalCdf, probabilityBetaGreater, probabilityToBeatControl } from '../../src/experiments/statistics.js';
import { DEFAULT_RANKER } from '../../src/recommend/ranker.js';

/** P(X_b > X_a) by numerical integration of f_b(x) · F_a(x) on a fine grid: an independent check of the closed form. */
function integrate(aA: number, bA: number, aB: number, bB: number): number {
  const steps = 200_000;
  const lb = (a: number, b: number) => logGamma(a) + logGamma(b) - logGamma(a + b);
  const density = (a: number, b: number, x: number) => Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log(1 - x) - lb(a, b));
  let cdfA = 0;
  let total = 0;
  const h = 1 / steps;
  for (let i = 0; i < steps; i++) {
    const x = (i + 0.5) * h;
    cdfA += density(aA, bA, x) * h;
    total += density(aB, bB, x) * (cdfA - density(aA, bA, x) * h * 0.5) * h;
  }
  return total;
}

describe('sticky assignment', () => {
  it('gives a customer the same variant every time, and points in [0, 1)', () => {
    for (let customer = 1; customer < 500; customer++) {
      const p = assignmentPoint(7, customer);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(1);
      expect(assignVariant(7, customer, [1, 1, 2])).toBe(assignVariant(7, customer, [1, 1, 2]));
    }
  });

  it('splits many customers by the weights within tolerance (1:1, 1:3 and 1:1:2)', () => {
    const customers = 40_000;
    for (const weights of [
      [1, 1],
      [1, 3],
      [1, 1, 2],
    ]) {
      const counts = new Array(weights.length).fill(0);
      for (let c = 1; c <= customers; c++) counts[assignVariant(11, c, weights)]++;
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, i) => {
        const expected = (w / total) * customers;
        // 4 standard deviations of a binomial count
        expect(Math.abs(counts[i] - expected)).toBeLessThan(4 * Math.sqrt(customers * (w / total) * (1 - w / total)));
      });
    }
  });

  it('assigns independently in different experiments (a customer is not always in the first variant)', () => {
    let same = 0;
    for (let c = 1; c <= 10_000; c++) if (assignVariant(1, c, [1, 1]) === assignVariant(2, c, [1, 1])) same++;
    expect(same / 10_000).toBeGreaterThan(0.47);
    expect(same / 10_000).toBeLessThan(0.53);
  });

  it('maps points to weighted slices in variant order', () => {
    expect(variantAt([1, 3], 0)).toBe(0);
    expect(variantAt([1, 3], 0.2499)).toBe(0);
    expect(variantAt([1, 3], 0.25)).toBe(1);
    expect(variantAt([1, 3], 0.9999999)).toBe(1);
  });
});

describe('probability to beat the control', () => {
  it('knows ln Γ and the normal CDF', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
    expect(logGamma(101)).toBeCloseTo(363.73937555556347, 8);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
  });

  it('is 2/3 for Beta(2,1) against Beta(1,1), and 1/2 between equal posteriors', () => {
    expect(probabilityBetaGreater(1, 1, 2, 1)).toBeCloseTo(2 / 3, 10);
    expect(probabilityToBeatControl({ impressions: 0, clicks: 0 }, { impressions: 0, clicks: 0 })).toBeCloseTo(0.5, 10);
    expect(probabilityToBeatControl({ impressions: 1000, clicks: 40 }, { impressions: 1000, clicks: 40 })).toBeCloseTo(0.5, 6);
  });

  it('matches numerical integration on mid-size counts', () => {
    const cases: [number, number, number, number][] = [
      [1000, 30, 1000, 45],
      [500, 50, 800, 70],
      [200, 3, 150, 9],
    ];
    for (const [nA, cA, nB, cB] of cases) {
      const closed = probabilityToBeatControl({ impressions: nA, clicks: cA }, { impressions: nB, clicks: cB });
      expect(closed).toBeCloseTo(integrate(1 + cA, 1 + nA - cA, 1 + cB, 1 + nB - cB), 4);
    }
    // 30/1000 against 45/1000: a clear but not certain improvement
    const p = probabilityToBeatControl({ impressions: 1000, clicks: 30 }, { impressions: 1000, clicks: 45 });
    expect(p).toBeGreaterThan(0.94);
    expect(p).toBeLessThan(0.97);
  });

  it('is symmetric: P(b beats a) + P(a beats b) = 1', () => {
    const a = { impressions: 700, clicks: 21 };
    const b = { impressions: 650, clicks: 30 };
    expect(probabilityToBeatControl(a, b) + probabilityToBeatControl(b, a)).toBeCloseTo(1, 8);
  });

  it('agrees with the normal approximation it switches to on large counts', () => {
    const exact = probabilityBetaGreater(1 + 4000, 1 + 96_000, 1 + 4150, 1 + 95_850);
    // a non-integer α takes the normal approximation
    const approx = probabilityBetaGreater(1 + 4000, 1 + 96_000, 1 + 4150 + 1e-9, 1 + 95_850);
    expect(exact).not.toBe(approx);
    expect(Math.abs(exact - approx)).toBeLessThan(2e-3);
    expect(probabilityToBeatControl({ impressions: 2_000_000, clicks: 60_000 }, { impressions: 2_000_000, clicks: 61_000 })).toBeGreaterThan(0.99);
  });

  it('refuses counts that are not whole numbers ≥ 0', () => {
    expect(() => probabilityToBeatControl({ impressions: -1, clicks: 0 }, { impressions: 1, clicks: 0 })).toThrow(/whole numbers/);
    expect(() => probabilityToBeatControl({ impressions: 1.5, clicks: 0 }, { impressions: 1, clicks: 0 })).toThrow(/whole numbers/);
  });

  it('flags about 5% of A/A comparisons at the 0.95 threshold (binomial draws, many seeds)', () => {
    const rng = createRng(3);
    let flagged = 0;
    const runs = 2000;
    for (let r = 0; r < runs; r++) {
      const draw = (n: number) => {
        let c = 0;
        for (let i = 0; i < n; i++) if (rng.next() < 0.05) c++;
        return c;
      };
      const p = probabilityToBeatControl({ impressions: 2000, clicks: draw(2000) }, { impressions: 2000, clicks: draw(2000) });
      if (p >= 0.95) flagged++;
    }
    expect(flagged / runs).toBeGreaterThan(0.03);
    expect(flagged / runs).toBeLessThan(0.07);
  });

  it('computes rates, revenue per mille and the control’s null probability per variant', () => {
    const results = withStatistics(
      [
        { variantId: 1, name: 'control', position: 0, recommender: 'random', params: {}, weight: 1 },
        { variantId: 2, name: 'ours', position: 1, recommender: 'ours', params: {}, weight: 1 },
      ],
      [
        { variantId: 1, impressions: 1000, clicks: 30, carts: 6, purchases: 3, revenue: '90.00' },
        { variantId: 2, impressions: 1000, clicks: 45, carts: 9, purchases: 9, revenue: '300.00' },
      ],
    );
    expect(results[0]).toMatchObject({ ctr: 0.03, cartRate: 0.2, conversionRate: 0.1, revenuePerMille: 90, probabilityToBeatControl: null, winner: false });
    expect(results[1]).toMatchObject({ ctr: 0.045, conversionRate: 0.2, revenuePerMille: 300, winner: true });
  });
});

describe('experiment definitions', () => {
  const ok = {
    name: 'ours vs random',
    variants: [
      { name: 'control', recommender: 'random', weight: 1 },
      { name: 'ours', recommender: 'ours', weight: 1 },
    ],
  };
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      return error instanceof AppError ? `${error.code}:${error.details.field}` : String(error);
    }
    return 'ok';
  };

  it('accepts a valid definition with the home placement by default', () => {
    expect(validateExperimentInput(ok).placement).toBe('home');
  });

  it('names the field of every mistake', () => {
    expect(code(() => validateExperimentInput({ ...ok, name: '' }))).toBe('BAD_USER_INPUT:name');
    expect(code(() => validateExperimentInput({ ...ok, placement: 'Home Page' }))).toBe('BAD_USER_INPUT:placement');
    expect(code(() => validateExperimentInput({ ...ok, variants: ok.variants.slice(0, 1) }))).toBe('BAD_USER_INPUT:variants');
    expect(code(() => validateExperimentInput({ ...ok, variants: [ok.variants[0]!, { ...ok.variants[1]!, name: 'control' }] }))).toBe(
      'BAD_USER_INPUT:variants[1].name',
    );
    expect(code(() => validateExperimentInput({ ...ok, variants: [ok.variants[0]!, { ...ok.variants[1]!, weight: 0 }] }))).toBe(
      'BAD_USER_INPUT:variants[1].weight',
    );
    expect(code(() => validateExperimentInput({ ...ok, variants: [ok.variants[0]!, { ...ok.variants[1]!, recommender: 'magic' }] }))).toBe(
      'BAD_USER_INPUT:variants[1].recommender',
    );
    expect(code(() => parseVariantParams('ours', { weights: { affinity: -1 } }, 'v'))).toBe('BAD_USER_INPUT:v.params.weights');
    expect(code(() => parseVariantParams('ours', { weights: { nonsense: 1 } }, 'v'))).toBe('BAD_USER_INPUT:v.params.weights');
    expect(code(() => parseVariantParams('ours', { depth: 3 }, 'v'))).toBe('BAD_USER_INPUT:v.params');
    expect(code(() => parseVariantParams('random', { maxCategoryShare: 0.5 }, 'v'))).toBe('BAD_USER_INPUT:v.params');
    expect(code(() => parseVariantParams('ours', { maxCategoryShare: 2 }, 'v'))).toBe('BAD_USER_INPUT:v.params.maxCategoryShare');
  });

  it('ranks ours with the served weights under its params, and the others with their own signal', () => {
    const ours = variantRanker('ours', { weights: { affinity: 3 } }, DEFAULT_RANKER);
    expect(ours.weights).toEqual({ ...DEFAULT_RANKER.weights, affinity: 3 });
    expect(ours.maxCategoryShare).toBe(DEFAULT_RANKER.maxCategoryShare);
    const popular = variantRanker('most-popular', {}, DEFAULT_RANKER);
    expect(Object.entries(popular.weights).filter(([, w]) => w > 0)).toEqual([['popular', 1]]);
    expect(variantRanker('item-knn', {}, DEFAULT_RANKER).weights.learned).toBe(1);
  });

  it('parses the CLI variant and params flags, refusing malformed ones with what to write', () => {
    expect(variantSpec('b:random:2', variantSpec('control:ours'))).toEqual([
      { name: 'control', recommender: 'ours', weight: 1 },
      { name: 'b', recommender: 'random', weight: 2 },
    ]);
    expect(() => variantSpec('control')).toThrow(InvalidArgumentError);
    expect(() => variantSpec('b:random:-1')).toThrow(/above 0/);
    expect(variantParams('b={"weights":{"affinity":8}}')).toEqual({ b: { weights: { affinity: 8 } } });
    expect(() => variantParams('b={weights')).toThrow(/not JSON/);
    expect(() => variantParams('b={}', { b: {} })).toThrow(/twice/);
  });
});
