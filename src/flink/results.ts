import { z } from 'zod';
import { PoisonMessageError } from '../cdc/envelope.js';

/*
 * The Flink jobs' output topics (flink/*.sql): plain JSON rows, one per alert, closed revenue window or
 * ranked product. The bridge validates them like CDC envelopes (a bad row goes to the dead-letter topic)
 * and publishes them to the subscriptions fraudAlert, revenueUpdated and topProductsUpdated.
 */

export const RESULT_KINDS = ['fraud-alerts', 'revenue-stats', 'top-products'] as const;
export type ResultKind = (typeof RESULT_KINDS)[number];

export const resultTopic = (prefix: string, kind: ResultKind) => `${prefix}.${kind}`;

export function resultKindOfTopic(prefix: string, topic: string): ResultKind | undefined {
  return RESULT_KINDS.find((kind) => resultTopic(prefix, kind) === topic);
}

const money = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)]).transform((v) => Number(v).toFixed(2));
const nullableMoney = money.nullable().optional().transform((v) => v ?? null);
/** Flink writes TIMESTAMP_LTZ as ISO-8601 with Z and TIMESTAMP (UTC here) without a zone. */
const time = z.string().transform((v, ctx) => {
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  if (Number.isNaN(date.getTime())) {
    ctx.addIssue({ code: 'custom', message: `not a timestamp: ${v}` });
    return z.NEVER;
  }
  return date;
});

const fraudAlert = z.object({
  alert_id: z.string(), rule: z.string(), customer_id: z.number().int().nullable(), order_id: z.number().int(), amount: money,
  order_count: z.number().int(), detail: z.string(), event_time: time, detected_at: time,
});
const revenueStat = z.object({
  window_start: time, window_end: time, window_seconds: z.number().int(), revenue: money, order_count: z.number().int(),
  avg_order_value: money, previous_revenue: nullableMoney, revenue_change: nullableMoney, revenue_change_pct: z.number().nullable().optional(),
});
const topProduct = z.object({
  window_size: z.string(), window_start: time, window_end: time, category_id: z.number().int(), ranked_by: z.enum(['quantity', 'revenue']),
  rank: z.number().int(), product_id: z.number().int(), quantity: z.number().int(), revenue: money,
});

export interface FraudAlertRow { alertId: string; rule: string; customerId: number | null; orderId: number; amount: string; orderCount: number; detail: string; eventTime: Date; detectedAt: Date }
export interface RevenueStatRow { windowStart: Date; windowEnd: Date; windowSeconds: number; revenue: string; orderCount: number; avgOrderValue: string; previousRevenue: string | null; revenueChange: string | null; revenueChangePct: number | null }
export interface TopProductRow { windowSize: string; windowStart: Date; windowEnd: Date; categoryId: number; rankedBy: 'quantity' | 'revenue'; rank: number; productId: number; quantity: number; revenue: string }

export type StreamResult =
  | { kind: 'fraud-alerts'; row: FraudAlertRow }
  | { kind: 'revenue-stats'; row: RevenueStatRow }
  | { kind: 'top-products'; row: TopProductRow };

const camel = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));

/** Parses one message of a result topic; throws PoisonMessageError when it is not a row of that kind. */
export function parseResult(kind: ResultKind, value: Buffer | null): StreamResult {
  if (value === null || value.length === 0) throw new PoisonMessageError('empty message on a result topic');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new PoisonMessageError('not JSON');
  }
  const schema = kind === 'fraud-alerts' ? fraudAlert : kind === 'revenue-stats' ? revenueStat : topProduct;
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new PoisonMessageError(`not a ${kind} row: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const row = camel(parsed.data as Record<string, unknown>);
  if (kind === 'revenue-stats') row.revenueChangePct ??= null;
  return { kind, row } as unknown as StreamResult;
}
