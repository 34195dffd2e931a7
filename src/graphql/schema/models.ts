import type { ObjectRef } from '@pothos/core';
import { type GraphQLResolveInfo, Kind } from 'graphql';
import { buildWhere, type FilterSpec, HIDDEN_FIELDS, HIDDEN_MODELS, RESOURCES, type Resource, resourceByModel } from '../../api/resources.js';
import { notFound } from '../../errors.js';
import { getDatamodel } from '../../generated/prisma/pothos-types.js';
import { readWhere } from '../authorize.js';
import { builder, type SchemaTypes } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { enums, SortOrder } from './enums.js';

/*
 * Every shop entity is registered from the Prisma datamodel by one generic helper, so the API cannot
 * drift from the schema: scalar columns become fields (camelCase, with the seed's integer keys),
 * to-one relations become fields, to-many relations become Relay connections with totalCount.
 */

type DmmfField = { name: string; kind: string; type: string; isRequired: boolean; isList: boolean };
const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: DmmfField[] }>;

const SCALARS: Record<string, string> = {
  Int: 'Int',
  String: 'String',
  Boolean: 'Boolean',
  Float: 'Float',
  DateTime: 'DateTime',
  Decimal: 'Decimal',
  Json: 'JSON',
  BigInt: 'BigInt',
};

// The generic registration below builds fields from the datamodel at run time, where Pothos cannot infer types (biome.json allows `any` in this file only).
function scalarType(field: DmmfField): any {
  const base = field.kind === 'enum' ? (enums as any)[field.type] : SCALARS[field.type];
  if (!base) throw new Error(`no GraphQL type for ${field.type}`);
  return field.isList ? [base] : base;
}

const DESCRIPTIONS: Record<string, string> = {
  Category: 'A product category (department).',
  Product: 'A product in the catalogue.',
  Customer: 'A shop customer. The password hash is never exposed.',
  Order: 'An order with its items, payment and shipment.',
  OrderItem: 'One line of an order, priced at the time of ordering.',
  Cart: "One line of a customer's shopping cart.",
  Wishlist: "An entry on a customer's wishlist.",
  Payment: 'A payment attempt for an order (completed or failed).',
  Shipment: 'The shipment of a paid order.',
  BehaviorEvent: 'One recorded customer action (append-only).',
};

const refs = new Map<string, ObjectRef<SchemaTypes, object>>();

/** The object type of an entity (Order, Product, …), for fields of other types that resolve to a row of it. */
export function entityRef(model: string): ObjectRef<SchemaTypes, object> {
  const ref = refs.get(model);
  if (!ref) throw new Error(`no GraphQL type for the entity ${model}`);
  return ref;
}

for (const resource of RESOURCES) {
  const model = models[resource.model]!;
  const hidden = new Set(HIDDEN_FIELDS[resource.model] ?? []);
  const ref = builder.prismaObject(resource.model as any, {
    description: DESCRIPTIONS[resource.model],
    fields: (t: any) =>
      Object.fromEntries(
        model.fields
          .filter((f) => !hidden.has(f.name) && !(f.kind === 'object' && HIDDEN_MODELS.has(f.type)))
          .map((f) => {
            if (f.kind !== 'object') return [f.name, t.expose(f.name, { type: scalarType(f), nullable: !f.isRequired && !f.isList })];
            if (!f.isList) return [f.name, t.relation(f.name, { nullable: !f.isRequired })];
            const target = resourceByModel(f.type)!;
            return [
              f.name,
              t.relatedConnection(f.name, {
                cursor: target.idField,
                totalCount: true,
                query: (_args: unknown, ctx: any) => ({ where: readWhere(target.model, ctx.auth), orderBy: { [target.idField]: 'asc' } }),
              }),
            ];
          }),
      ),
  });
  refs.set(resource.model, ref as unknown as ObjectRef<SchemaTypes, object>);
}

function filterArgs(t: any, resource: Resource): Record<string, unknown> {
  const args: Record<string, unknown> = { order: t.arg({ type: SortOrder, required: false, description: 'Sort by id (default ASC)' }) };
  const typed = (type: string, description: string) =>
    type in enums ? t.arg({ type: (enums as any)[type], required: false, description }) : t.arg({ type, required: false, description });
  for (const f of resource.filters as FilterSpec[]) {
    if (f.kind === 'eq') args[f.arg] = typed(f.type, f.description);
    if (f.kind === 'contains') args[f.arg] = t.arg.string({ required: false, description: f.description });
    if (f.kind === 'range') {
      args[f.min] = typed(f.type, `${f.description} (lower bound)`);
      args[f.max] = typed(f.type, `${f.description} (upper bound)`);
    }
  }
  return args;
}

builder.queryFields((t: any) =>
  Object.fromEntries(
    RESOURCES.flatMap((r) => [
      [
        r.single,
        t.prismaField({
          type: r.model,
          nullable: true,
          description: `One ${r.model} by ${r.idField}; NOT_FOUND when it does not exist.`,
          args: { [r.idField]: t.arg({ type: r.idField === 'eventId' ? 'BigInt' : 'Int', required: true }) },
          resolve: async (query: object, _root: unknown, args: Record<string, number>, ctx: any) => {
            // A row the caller may not read is as missing as one that does not exist.
            const row = await (ctx as GraphQLContext).reader.findFirst(r.model, {
              ...query,
              where: readWhere(r.model, ctx.auth, { [r.idField]: args[r.idField] }),
            });
            if (!row) throw notFound(r.model, String(args[r.idField]));
            return row;
          },
        }),
      ],
      [
        r.list,
        t.prismaConnection({
          type: r.model,
          cursor: r.idField,
          description: `${r.model} list as a Relay connection (first/after, last/before; at most 100 per page).`,
          args: filterArgs(t, r),
          // The page and its totalCount come from one statement; totalCount alone (no edges asked) counts.
          totalCount: (_root: unknown, args: Record<string, unknown>, ctx: GraphQLContext) =>
            totals.get(args) ?? ctx.reader.count(r.model, safeWhere(r, args, ctx)),
          resolve: async (query: object, _root: unknown, args: Record<string, unknown>, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
            const where = safeWhere(r, args, ctx);
            const counted = asksTotalCount(info);
            const read = ctx.reader.findMany(r.model, { ...query, where, orderBy: { [r.idField]: args.order ?? 'asc' } }, counted ? where : undefined);
            if (counted) {
              const total = read.then((result) => result.total as number);
              total.catch(() => undefined); // the page's own failure is the one reported
              totals.set(args, total);
            }
            return (await read).rows;
          },
        }),
      ],
    ]),
  ),
);

const safeWhere = (r: Resource, args: Record<string, unknown>, ctx: GraphQLContext) => readWhere(r.model, ctx.auth, buildWhere(r, args));

/** The count a connection's page read computed beside its rows, by the field's arguments object (one per field per request). */
const totals = new WeakMap<object, Promise<number>>();

/** Whether the connection's selection may read totalCount (a fragment may: then it is counted too). */
function asksTotalCount(info: GraphQLResolveInfo): boolean {
  return info.fieldNodes.some((node) => (node.selectionSet?.selections ?? []).some((s) => s.kind !== Kind.FIELD || s.name.value === 'totalCount'));
}
