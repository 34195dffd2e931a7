import { HIDDEN_FIELDS } from '../api/resources.js';
import { parseJsonOr } from '../common/json.js';
import { getDatamodel } from '../generated/prisma/pothos-types.js';

/** The tables Debezium captures, with the Prisma model each row belongs to and its key column. */
export const CDC_TABLES = {
  categories: { model: 'Category', key: 'categoryId' },
  products: { model: 'Product', key: 'productId' },
  customers: { model: 'Customer', key: 'customerId' },
  orders: { model: 'Order', key: 'orderId' },
  order_items: { model: 'OrderItem', key: 'orderItemId' },
  carts: { model: 'Cart', key: 'cartId' },
  wishlists: { model: 'Wishlist', key: 'wishlistId' },
  payments: { model: 'Payment', key: 'paymentId' },
  shipments: { model: 'Shipment', key: 'shipmentId' },
  behavior_events: { model: 'BehaviorEvent', key: 'eventId' },
  experiments: { model: 'Experiment', key: 'experimentId' },
  experiment_variants: { model: 'ExperimentVariant', key: 'variantId' },
  experiment_assignments: { model: 'ExperimentAssignment', key: 'experimentId' },
  merchandising_rules: { model: 'MerchandisingRule', key: 'ruleId' },
} as const;

export type CdcTable = keyof typeof CDC_TABLES;

export function isCdcTable(name: string): name is CdcTable {
  return Object.hasOwn(CDC_TABLES, name);
}

/** Kafka topic of a table under a Debezium topic prefix: `<prefix>.public.<table>`. */
export function topicOf(prefix: string, table: CdcTable): string {
  return `${prefix}.public.${table}`;
}

export function tableOfTopic(prefix: string, topic: string): string | undefined {
  const head = `${prefix}.public.`;
  return topic.startsWith(head) ? topic.slice(head.length) : undefined;
}

/** snake_case column → camelCase field, the naming the Prisma schema maps every column with. */
export function camelCase(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

type DmmfField = { name: string; kind: string; type: string };
const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: DmmfField[] }>;

/**
 * Scalar field names and types per model, to convert row images into the entity's shape. Hidden fields
 * (password_hash) are not among them: even a connector that publishes them cannot bring them into the API.
 */
const SCALARS: Record<string, Map<string, string>> = Object.fromEntries(
  Object.values(CDC_TABLES).map(({ model }) => [
    model,
    new Map(models[model]!.fields.filter((f) => f.kind !== 'object' && !HIDDEN_FIELDS[model]?.includes(f.name)).map((f) => [f.name, f.type])),
  ]),
);

/**
 * Converts a Debezium row image (snake_case columns, JSON values) into the Prisma model's shape
 * (camelCase fields; dates as Date; bigint ids as bigint). Unknown and hidden columns are dropped.
 */
export function rowToEntity(table: CdcTable, row: Record<string, unknown>): Record<string, unknown> {
  const fields = SCALARS[CDC_TABLES[table].model]!;
  const entity: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const name = camelCase(column);
    const type = fields.get(name);
    if (!type) continue;
    if (value === null || value === undefined) entity[name] = null;
    else if (type === 'DateTime') entity[name] = typeof value === 'number' ? new Date(value / 1000) : new Date(String(value));
    else if (type === 'BigInt') entity[name] = BigInt(value as number | string);
    else if (type === 'Json' && typeof value === 'string') entity[name] = parseJsonOr(value);
    else entity[name] = value;
  }
  return entity;
}
