/*
 * Confidence of a variant against the control: the Bayesian probability that its click-through rate is higher.
 *
 * Each arm's CTR gets a uniform Beta(1, 1) prior, so after c clicks in n impressions its posterior is
 * Beta(1 + c, 1 + n − c). P(p_variant > p_control) has a closed form (Evan Miller, "Formulas for Bayesian A/B
 * testing"): a sum of α_variant terms, computed in log space. Beyond EXACT_TERMS terms the posteriors are
 * close to normal and the normal approximation is used (its error is far below the decision threshold there).
 * See README "Experiments" for why this and not a two-proportion test.
 */

/** Sums of more terms than this use the normal approximation. */
export const EXACT_TERMS = 50_000;

/** The probability at which a variant is flagged as beating the control. */
export const WIN_PROBABILITY = 0.95;

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const logBeta = (a: number, b: number) => logGamma(a) + logGamma(b) - logGamma(a + b);

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 on erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** P(X_b > X_a) for X_a ~ Beta(aA, bA), X_b ~ Beta(aB, bB), with integer aB (exact sum). */
export function probabilityBetaGreater(aA: number, bA: number, aB: number, bB: number): number {
  if (aB > EXACT_TERMS || !Number.isInteger(aB)) {
    const mean = (a: number, b: number) => a / (a + b);
    const variance = (a: number, b: number) => (a * b) / ((a + b) ** 2 * (a + b + 1));
    return normalCdf((mean(aB, bB) - mean(aA, bA)) / Math.sqrt(variance(aA, bA) + variance(aB, bB)));
  }
  const base = logBeta(aA, bA);
  let total = 0;
  for (let i = 0; i < aB; i++) total += Math.exp(logBeta(aA + i, bA + bB) - Math.log(bB + i) - logBeta(1 + i, bB) - base);
  return Math.min(1, Math.max(0, total));
}

export interface Counts {
  impressions: number;
  clicks: number;
}

/** The probability that the variant's click-through rate beats the control's, under uniform priors. */
export function probabilityToBeatControl(control: Counts, variant: Counts): number {
  for (const [what, c] of [
    ['control', control],
    ['variant', variant],
  ] as const) {
    if (!Number.isInteger(c.impressions) || !Number.isInteger(c.clicks) || c.clicks < 0 || c.impressions < 0)
      throw new RangeError(`${what}: impressions and clicks must be whole numbers ≥ 0, got ${c.impressions} and ${c.clicks}.`);
  }
  // A click without its impression (a client reporting only clicks) counts as shown.
  const n = (c: Counts) => Math.max(c.impressions, c.clicks);
  return probabilityBetaGreater(1 + control.clicks, 1 + n(control) - control.clicks, 1 + variant.clicks, 1 + n(variant) - variant.clicks);
}
