import { randomUUID } from 'node:crypto';
import type { Rng } from '../common/random.js';

export const PAYMENT_METHODS = ['credit_card', 'debit_card', 'paypal', 'bank_transfer', 'apple_pay', 'google_pay'] as const;
export type PaymentMethodName = (typeof PAYMENT_METHODS)[number];

export interface ChargeResult {
  status: 'completed' | 'failed';
  transactionId: string;
}

/** The payment provider as the shop sees it; the simulated one declines at each method's failure rate. */
export interface PaymentGateway {
  charge(method: PaymentMethodName, amountCents: number): ChargeResult;
}

/** Deterministic under a seeded rng, unique enough (122 random bits) for the unique column. */
export function transactionId(rng?: Rng): string {
  if (!rng) return `txn_${randomUUID().replaceAll('-', '')}`;
  let hex = '';
  for (let i = 0; i < 4; i++)
    hex += Math.floor(rng.next() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return `txn_${hex}`;
}

export function trackingNumber(rng?: Rng): string {
  const digits = () => (rng ? Math.floor(rng.next() * 1e8) : Math.floor(Math.random() * 1e8)).toString().padStart(8, '0');
  return `TRK${digits()}${digits()}`;
}

/** When a paid order moves on: shipped after 6 h, in transit after 1 day, delivered after 3 days. */
export const FULFILMENT = { shipAfterMs: 6 * 3600_000, inTransitAfterMs: 24 * 3600_000, deliverAfterMs: 72 * 3600_000 };

export interface FulfilmentState {
  orderStatus: 'paid' | 'shipped' | 'delivered';
  shipmentStatus: 'pending' | 'shipped' | 'in_transit' | 'delivered';
  shipmentDate: Date | null;
}

/** The state a paid order placed at `placedAt` has reached at `now`. */
export function fulfilmentAt(placedAt: Date, now: Date, policy = FULFILMENT): FulfilmentState {
  const age = now.getTime() - placedAt.getTime();
  const shipmentDate = age >= policy.shipAfterMs ? new Date(placedAt.getTime() + policy.shipAfterMs) : null;
  if (age >= policy.deliverAfterMs) return { orderStatus: 'delivered', shipmentStatus: 'delivered', shipmentDate };
  if (age >= policy.inTransitAfterMs) return { orderStatus: 'shipped', shipmentStatus: 'in_transit', shipmentDate };
  if (age >= policy.shipAfterMs) return { orderStatus: 'shipped', shipmentStatus: 'shipped', shipmentDate };
  return { orderStatus: 'paid', shipmentStatus: 'pending', shipmentDate: null };
}

export interface PostalAddress {
  address: string;
  city: string;
  state: string;
  zipCode: string;
  country: string;
}

/** Splits "street, city, state zip, country" (the generator's format); unknown parts stay explicit. */
export function parseAddress(full: string | null): PostalAddress {
  const parts = (full ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length < 4) return { address: full ?? 'unknown', city: 'unknown', state: 'unknown', zipCode: 'unknown', country: 'unknown' };
  const country = parts.pop()!;
  const stateZip = parts.pop()!;
  const city = parts.pop()!;
  const m = /^(.*?)\s+(\S+)$/.exec(stateZip);
  return { address: parts.join(', '), city, state: m?.[1] ?? stateZip, zipCode: m?.[2] ?? 'unknown', country };
}

/** Stock below this is topped up by the shop's restocking (a business process, not a customer action). */
export const RESTOCK = { threshold: 25, quantity: 150 };
