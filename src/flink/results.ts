import { z } from 'zod';
import type { KafkaPosition } from '../cdc/envelope.js';
import { PoisonMessageError } from '../cdc/envelope.js';
import { camelCase, RESULT_CONTRACTS, type ResultContract, type RowOf } from './contracts.js';

/*
 * The Flink jobs' output topics (flink/*.sql): plain JSON rows, one per alert, closed revenue window or
 * ranked product. The bridge validates them like CDC envelopes (a bad row goes to the dead-letter topic)
 * and publishes them to the subscriptions fraudAlert, revenueUpdated and topProductsUpdated.
 */

export const RESULT_KINDS = Object.keys(RESULT_CONTRACTS) as (keyof typeof RESULT_CONTRACTS)[];
export type ResultKind = keyof typeof RESULT_CONTRACTS;

export const resultTopic = (prefix: string, kind: ResultKind) => `${prefix}.${kind}`;

export function resultKindOfTopic(prefix: string, topic: string): ResultKind | undefined {
  return RESULT_KINDS.find((kind) => resultTopic(prefix, kind) === topic);
}

const money = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)]).transform((v) => Number(v).toFixed(2));
/** Flink writes TIMESTAMP_LTZ as ISO-8601 with Z and TIMESTAMP (UTC here) without a zone. */
const time = z.string().transform((v, ctx) => {
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  if (Number.isNaN(date.getTime())) {
    ctx.addIssue({ code: 'custom', message: `not a timestamp: ${v}` });
    return z.NEVER;
  }
  return date;
});

/** The zod schema of a result row, from its contract (JSON on the topic: snake_case, money as number or string). */
function rowSchema(contract: ResultContract) {
  const fields: Record<string, z.ZodType> = {};
  for (const [name, column] of Object.entries(contract.columns)) {
    let field: z.ZodType =
      column.kind === 'money'
        ? money
        : column.kind === 'time'
          ? time
          : column.kind === 'string'
            ? column.values
              ? z.enum(column.values as [string, ...string[]])
              : z.string()
            : column.kind === 'float'
              ? z.number()
              : z.number().int();
    // A nullable column may also be left out of the JSON (Flink omits nothing, other producers may).
    if (column.nullable)
      field = field
        .nullable()
        .optional()
        .transform((v) => v ?? null);
    fields[name] = field;
  }
  return z.object(fields);
}

const SCHEMAS = Object.fromEntries(RESULT_KINDS.map((kind) => [kind, rowSchema(RESULT_CONTRACTS[kind])])) as unknown as Record<ResultKind, z.ZodType>;

export type FraudAlertRow = RowOf<(typeof RESULT_CONTRACTS)['fraud-alerts']>;
export type RevenueStatRow = RowOf<(typeof RESULT_CONTRACTS)['revenue-stats']>;
export type TopProductRow = RowOf<(typeof RESULT_CONTRACTS)['top-products']>;

export type StreamResult = (
  | { kind: 'fraud-alerts'; row: FraudAlertRow }
  | { kind: 'revenue-stats'; row: RevenueStatRow }
  | { kind: 'top-products'; row: TopProductRow }
) & {
  /** Where the bridge read it in Kafka (absent for a row parsed outside the bridge). */
  position?: KafkaPosition;
};

const camel = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [camelCase(k), v]));

/** Parses one message of a result topic; throws PoisonMessageError when it is not a row of that kind. */
export function parseResult(kind: ResultKind, value: Buffer | null): StreamResult {
  if (value === null || value.length === 0) throw new PoisonMessageError('empty message on a result topic');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new PoisonMessageError('not JSON');
  }
  const parsed = SCHEMAS[kind].safeParse(json);
  if (!parsed.success) throw new PoisonMessageError(`not a ${kind} row: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const row = camel(parsed.data as Record<string, unknown>);
  return { kind, row } as unknown as StreamResult;
}
