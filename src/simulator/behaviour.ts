import type { Rng } from '../common/random.js';
import { PAYMENT_METHODS, type PaymentGateway, type PaymentMethodName, transactionId } from '../shop/policy.js';

/*
 * The simulated shoppers' behaviour model: what they do per step and how they pay. The shop's own rules
 * (payment methods, fulfilment, restocking) stay in src/shop/policy.ts; this is the simulator's world.
 */

/** The seed's action mix, per simulated step. */
export const ACTION_WEIGHTS = {
  view_product: 0.4,
  add_to_cart: 0.2,
  add_to_wishlist: 0.15,
  remove_from_cart: 0.1,
  place_order: 0.1,
  browse_category: 0.05,
} as const;

export type ActionType = keyof typeof ACTION_WEIGHTS;
export const ACTION_TYPES = Object.keys(ACTION_WEIGHTS) as ActionType[];

/** How often shoppers pick each method, and how often a charge with it is declined. */
export const PAYMENT_PROFILE: Record<PaymentMethodName, { share: number; failureRate: number }> = {
  credit_card: { share: 0.42, failureRate: 0.06 },
  debit_card: { share: 0.16, failureRate: 0.05 },
  paypal: { share: 0.24, failureRate: 0.03 },
  bank_transfer: { share: 0.06, failureRate: 0.08 },
  apple_pay: { share: 0.07, failureRate: 0.02 },
  google_pay: { share: 0.05, failureRate: 0.02 },
};

export function pickPaymentMethod(rng: Rng): PaymentMethodName {
  return PAYMENT_METHODS[rng.weightedIndex(PAYMENT_METHODS.map((m) => PAYMENT_PROFILE[m].share))]!;
}

/** The simulated payment provider: declines at each method's failure rate. */
export function createSimulatedGateway(rng: Rng): PaymentGateway {
  return {
    charge(method) {
      const failed = rng.chance(PAYMENT_PROFILE[method].failureRate);
      return { status: failed ? 'failed' : 'completed', transactionId: transactionId(rng) };
    },
  };
}
