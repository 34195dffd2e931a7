import { defaultFieldResolver, type GraphQLField, type GraphQLSchema, isObjectType } from 'graphql';
import { filter, pipe } from 'graphql-yoga';
import { HIDDEN_FIELDS, RESOURCES } from '../api/resources.js';
import { CDC_TABLES, type CdcTable } from '../cdc/tables.js';
import { AppError } from '../errors.js';
import { getDatamodel } from '../generated/prisma/pothos-types.js';
import {
  authorizeOperation,
  canSeeChange,
  canSeeRow,
  entityOperations,
  maskRow,
  maskValue,
  OPERATIONS,
  type ReadScope,
  type RequestAuth,
  rowFilter,
  scopeOf,
} from '../security/policy.js';

/*
 * Applies the policy of src/security/policy.ts to every operation of the schema, so no resolver has to
 * remember it: each root field checks its rule before it runs (subscriptions also drop every event the
 * caller may not see), each field of an entity type checks that its row is visible to the caller and masks
 * PII for analysts, and a to-many relation to a model the caller may not read is refused. The entity
 * resolvers narrow their queries with `readWhere` so pages and counts hold only visible rows.
 */

type Resolver = NonNullable<GraphQLField<unknown, { auth: RequestAuth }>['resolve']>;
type DmmfField = { name: string; kind: string; type: string; isList: boolean };
const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: DmmfField[] }>;
const RULES = { ...OPERATIONS, ...entityOperations(RESOURCES) };
const ROOTS = ['Query', 'Mutation', 'Subscription'] as const;

/** `where` narrowed to the rows the caller may read (an impossible filter when it may read none: the field guard has refused it already). */
export function readWhere(model: string, auth: RequestAuth, where: Record<string, unknown> = {}): Record<string, unknown> {
  const allowed = rowFilter(model, scopeOf(auth));
  if (allowed === 'deny') return { AND: [where, { [idOf(model)]: { in: [] } }] };
  return Object.keys(allowed).length === 0 ? where : { AND: [where, allowed] };
}

const idOf = (model: string) => RESOURCES.find((r) => r.model === model)?.idField ?? 'id';

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Whether a subscription event may go to this caller: changes by row visibility, per-customer lists by their customer. */
function visibleEvent(event: unknown, scope: ReadScope): boolean {
  if (scope.kind === 'all') return true;
  const e = event as { table?: unknown; before?: unknown; after?: unknown; customerId?: unknown };
  if (typeof e.table === 'string' && e.table in CDC_TABLES && 'after' in e) return canSeeChange(e as Parameters<typeof canSeeChange>[0], scope);
  // A customer's own list (recommendationsUpdated); a service may watch any customer's (the root rule allows it).
  if (typeof e.customerId === 'number' && scope.kind === 'customer') return e.customerId === scope.customerId;
  return true;
}

function guardRoot(type: (typeof ROOTS)[number], field: GraphQLField<unknown, { auth: RequestAuth }>): void {
  const resolve = field.resolve ?? defaultFieldResolver;
  if (type === 'Subscription' && field.subscribe) {
    const subscribe = field.subscribe;
    field.subscribe = async (root, args, ctx, info) => {
      authorizeOperation(RULES, type, field.name, args, ctx.auth);
      const source = await subscribe(root, args, ctx, info);
      if (!isAsyncIterable(source)) return source;
      const scope = scopeOf(ctx.auth);
      return scope.kind === 'all'
        ? source
        : pipe(
            source,
            filter((event: unknown) => visibleEvent(event, scope)),
          );
    };
    return;
  }
  field.resolve = (root, args, ctx, info) => {
    authorizeOperation(RULES, type, field.name, args, ctx.auth);
    return resolve(root, args, ctx, info);
  };
}

function guardEntityField(model: string, field: GraphQLField<unknown, { auth: RequestAuth }>): void {
  const resolve: Resolver = field.resolve ?? defaultFieldResolver;
  const relation = models[model]?.fields.find((f) => f.name === field.name && f.kind === 'object' && f.isList);
  field.resolve = (row, args, ctx, info) => {
    const scope = scopeOf(ctx.auth);
    if (!canSeeRow(model, row as Record<string, unknown>, scope))
      throw new AppError('FORBIDDEN', `This ${model} is not visible to the ${ctx.auth.principal.role} role.`);
    if (relation && rowFilter(relation.type, scope) === 'deny')
      throw new AppError('FORBIDDEN', `Reading ${model}.${field.name} (${relation.type} rows) is not allowed for the ${ctx.auth.principal.role} role.`);
    const value = resolve(row, args, ctx, info);
    return value instanceof Promise ? value.then((v) => maskValue(model, field.name, v, scope)) : maskValue(model, field.name, value, scope);
  };
}

/** The JSON images of tableChanged: hidden columns dropped, PII masked. */
function guardTableChange(field: GraphQLField<unknown, { auth: RequestAuth }>): void {
  const resolve: Resolver = field.resolve ?? defaultFieldResolver;
  field.resolve = (event, args, ctx, info) => {
    const value = resolve(event, args, ctx, info) as Record<string, unknown> | null;
    const model = CDC_TABLES[(event as { table: CdcTable }).table].model;
    if (!value) return value;
    const visible = Object.fromEntries(Object.entries(value).filter(([name]) => !HIDDEN_FIELDS[model]?.includes(name)));
    return maskRow(model, visible, scopeOf(ctx.auth));
  };
}

/** Wraps the schema's resolvers with the policy (in place) and returns it. Throws when a root field has no rule. */
export function applyPolicy(schema: GraphQLSchema): GraphQLSchema {
  const unruled: string[] = [];
  for (const type of ROOTS) {
    const root = type === 'Query' ? schema.getQueryType() : type === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    for (const field of Object.values(root?.getFields() ?? {}) as GraphQLField<unknown, { auth: RequestAuth }>[]) {
      if (!RULES[`${type}.${field.name}`]) unruled.push(`${type}.${field.name}`);
      guardRoot(type, field);
    }
  }
  if (unruled.length) throw new Error(`No authorization rule for ${unruled.join(', ')}: add it to src/security/policy.ts.`);
  const entityModels = new Set<string>(RESOURCES.map((r) => r.model));
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    const fields = Object.values(type.getFields()) as GraphQLField<unknown, { auth: RequestAuth }>[];
    if (entityModels.has(type.name)) for (const field of fields) guardEntityField(type.name, field);
    if (type.name === 'TableChange') for (const field of fields.filter((f) => f.name === 'before' || f.name === 'after')) guardTableChange(field);
  }
  return schema;
}
