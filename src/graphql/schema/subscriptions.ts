import { filter, pipe } from 'graphql-yoga';
import type { ChangeEvent } from '../../cdc/envelope.js';
import { CDC_TABLES, type CdcTable, isCdcTable } from '../../cdc/tables.js';
import { AppError } from '../../errors.js';
import { getDatamodel } from '../../generated/prisma/pothos-types.js';
import { subscribeFrom } from '../../kafka/resume.js';
import { builder, type FieldBuilder } from '../builder.js';
import { enums } from './enums.js';
import { entityRef } from './models.js';

/*
 * Subscriptions stream the changes Debezium captures: one field per table (customerChanged, …,
 * behaviorEvent) with `before`/`after` typed as the entity, plus a generic tableChanged(table).
 * Filters narrow by the entity's id and by the customer (or product/order) it belongs to. Every event carries
 * a cursor (its place in the table's Kafka topic); `after: <cursor>` resumes a subscription right after it,
 * replaying from Kafka what the subscriber missed (src/kafka/resume.ts).
 */

/** A change as a subscription delivers it: with the cursor to resume after it. */
type DeliveredChange = ChangeEvent & { cursor: string };

export const CURSOR_DESCRIPTION = 'Where this event is in its Kafka topic (opaque): pass it as `after` to resume right after it.';
export const AFTER_DESCRIPTION =
  "Resume after this cursor (the `cursor` of the last event received): what was missed is replayed from Kafka, then the live changes follow, with no gap and no duplicate. CURSOR_EXPIRED when the topic's retention (or a reset) has removed what is needed.";

const ChangeOperation = builder.enumType('ChangeOperation', {
  values: {
    CREATE: {},
    UPDATE: {},
    DELETE: {},
    SNAPSHOT: { description: 'Row read by the initial snapshot' },
    TRUNCATE: { description: 'The whole table was emptied (clearData, a reset): before and after are null' },
  } as const,
});

/** The tables with a typed subscription of their own; the others (the experiments' tables) are watched with tableChanged. */
const SUBSCRIPTION_NAMES: Partial<Record<CdcTable, string>> = {
  categories: 'categoryChanged',
  products: 'productChanged',
  customers: 'customerChanged',
  orders: 'orderChanged',
  order_items: 'orderItemChanged',
  carts: 'cartChanged',
  wishlists: 'wishlistChanged',
  payments: 'paymentChanged',
  shipments: 'shipmentChanged',
  behavior_events: 'behaviorEvent',
};

const FILTERABLE = ['customerId', 'productId', 'orderId'];
const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: { name: string; kind: string }[] }>;

const fieldOf = (event: ChangeEvent, name: string) => (event.after ?? event.before)?.[name];
const same = (a: unknown, b: unknown) => a !== undefined && a !== null && String(a) === String(b);

function changeFields(t: FieldBuilder<DeliveredChange>) {
  return {
    cursor: t.exposeString('cursor', { description: CURSOR_DESCRIPTION }),
    operation: t.field({ type: ChangeOperation, resolve: (e) => e.operation }),
    committedAt: t.field({ type: 'DateTime', description: 'When the change committed in PostgreSQL', resolve: (e) => e.committedAt }),
    lsn: t.string({ nullable: true, description: 'WAL position of the change', resolve: (e) => e.lsn }),
    latencyMs: t.float({ description: 'Milliseconds from commit to delivery to this subscriber', resolve: (e) => Date.now() - e.committedAt.getTime() }),
  };
}

for (const [table, { model, key }] of Object.entries(CDC_TABLES) as [CdcTable, (typeof CDC_TABLES)[CdcTable]][]) {
  const name = SUBSCRIPTION_NAMES[table];
  if (!name) continue;
  const Change = builder.objectRef<DeliveredChange>(`${model}Change`).implement({
    description: `A change to a row of ${table}, captured from the database log.`,
    fields: (t) => ({
      ...changeFields(t),
      before: t.field({ type: entityRef(model), nullable: true, description: 'The row before the change (updates and deletes)', resolve: (e) => e.before }),
      after: t.field({
        type: entityRef(model),
        nullable: true,
        description: 'The row after the change (creates, updates, snapshot reads)',
        resolve: (e) => e.after,
      }),
    }),
  });
  const fieldNames = new Set(models[model]!.fields.map((f) => f.name));
  const filters = [key, ...FILTERABLE.filter((f) => f !== key && fieldNames.has(f))];
  builder.subscriptionField(name, (t) =>
    t.field({
      type: Change,
      description: `Changes to ${table} as they commit; optional filters: ${filters.join(', ')}${table === 'behavior_events' ? ', eventType' : ''}.`,
      args: {
        ...Object.fromEntries(filters.map((f) => [f, t.arg({ type: f === 'eventId' ? 'BigInt' : 'Int', required: false })])),
        ...(table === 'behavior_events' && { eventType: t.arg({ type: enums.BehaviorEventType, required: false }) }),
        after: t.arg.string({ required: false, description: AFTER_DESCRIPTION }),
      },
      subscribe: async (_root, { after, ...args }: Record<string, unknown>, ctx) =>
        pipe(
          await subscribeFrom(ctx.history, table, name, after as string | null | undefined, ctx.changes.subscribe(table)),
          // A TRUNCATE concerns every row, so it passes every filter.
          filter(
            (event: DeliveredChange) =>
              event.operation === 'TRUNCATE' ||
              Object.entries(args).every(([name, value]) => value === null || value === undefined || same(fieldOf(event, name), value)),
          ),
        ),
      resolve: (event) => event,
    }),
  );
}

const TableChange = builder.objectRef<DeliveredChange>('TableChange').implement({
  description: 'A change to any captured table, with the rows as JSON (camelCase fields).',
  fields: (t) => ({
    ...changeFields(t),
    table: t.exposeString('table'),
    before: t.field({ type: 'JSON', nullable: true, resolve: (e) => e.before }),
    after: t.field({ type: 'JSON', nullable: true, resolve: (e) => e.after }),
  }),
});

builder.subscriptionField('tableChanged', (t) =>
  t.field({
    type: TableChange,
    description: `Changes to one captured table: ${Object.keys(CDC_TABLES).join(', ')}.`,
    args: { table: t.arg.string({ required: true }), after: t.arg.string({ required: false, description: AFTER_DESCRIPTION }) },
    subscribe: (_root, args, ctx) => {
      if (!isCdcTable(args.table)) {
        throw new AppError('BAD_USER_INPUT', `Unknown table "${args.table}". Captured tables: ${Object.keys(CDC_TABLES).join(', ')}.`);
      }
      return subscribeFrom(ctx.history, args.table, `tableChanged(table: "${args.table}")`, args.after, ctx.changes.subscribe(args.table));
    },
    resolve: (event) => event,
  }),
);
