import { createHash } from 'node:crypto';

/*
 * Sticky assignment: a customer's variant is a pure function of the experiment and the customer, so every
 * process (API, simulator, CLI) agrees without coordination and a customer keeps their variant for the whole
 * experiment. The hash is SHA-256 of "<experimentId>:<customerId>", its first 52 bits read as a number in [0, 1);
 * variants own consecutive slices of [0, 1) in proportion to their weights, in variant order.
 */

/** A point in [0, 1) for the customer in the experiment, uniform over customers and independent between experiments. */
export function assignmentPoint(experimentId: number, customerId: number): number {
  const digest = createHash('sha256').update(`${experimentId}:${customerId}`).digest();
  // 52 bits: exact in a double.
  const high = digest.readUInt32BE(0);
  const low = digest.readUInt32BE(4) >>> 12;
  return (high * 2 ** 20 + low) / 2 ** 52;
}

/** The index of the variant whose slice of [0, 1) holds `point`; weights are positive and need not sum to 1. */
export function variantAt(weights: readonly number[], point: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let edge = 0;
  for (let i = 0; i < weights.length; i++) {
    edge += weights[i]! / total;
    if (point < edge) return i;
  }
  return weights.length - 1;
}

/** The variant (index into `weights`) the customer is assigned to in the experiment. */
export function assignVariant(experimentId: number, customerId: number, weights: readonly number[]): number {
  return variantAt(weights, assignmentPoint(experimentId, customerId));
}
