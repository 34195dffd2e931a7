import { CDC_TABLES, type CdcTable, isCdcTable } from '../cdc/tables.js';
import { AppError } from '../errors.js';
import type { Principal, Role } from './principal.js';

/*
 * Who may read, write and watch what: the one policy of the API. GraphQL (src/graphql/authorize.ts wraps every
 * root field and every field of every entity type with it, and the entity resolvers filter rows with it), REST
 * (src/rest/router.ts) and the WebSocket multicast (src/server/websocket.ts) all ask these functions and
 * decide nothing themselves. What is not listed here is denied.
 */

/** One request's caller. `actingFor` is set while a service runs a storefront mutation for a customer. */
export interface RequestAuth {
  principal: Principal;
  actingFor?: number;
}

/** What rows a caller reads: everything (masked or not), one customer's rows plus the catalogue, or the catalogue only. */
export type ReadScope = { kind: 'all'; masked: boolean } | { kind: 'customer'; customerId: number } | { kind: 'catalogue' };

/**
 * admin reads everything; analyst everything with PII masked; a customer their own rows and the catalogue; a
 * service the catalogue, and inside a storefront mutation what the customer it acts for may read (the rows the
 * mutation returns); anonymous the catalogue.
 */
export function scopeOf(auth: RequestAuth): ReadScope {
  const { principal } = auth;
  switch (principal.role) {
    case 'admin':
      return { kind: 'all', masked: false };
    case 'analyst':
      return { kind: 'all', masked: true };
    case 'customer':
      return { kind: 'customer', customerId: principal.customerId! };
    case 'service':
      return auth.actingFor !== undefined ? { kind: 'customer', customerId: auth.actingFor } : { kind: 'catalogue' };
    default:
      return { kind: 'catalogue' };
  }
}

/** A string that is equal for two callers exactly when they may see the same results (the subscription multicast key). */
export function scopeKey(scope: ReadScope): string {
  if (scope.kind === 'all') return scope.masked ? 'all:masked' : 'all';
  return scope.kind === 'customer' ? `customer:${scope.customerId}` : 'catalogue';
}

/** The models anyone may read. */
export const CATALOGUE_MODELS: ReadonlySet<string> = new Set(['Category', 'Product']);
/** Models whose rows belong to the customer in their `customerId` column. */
const OWNED_MODELS: ReadonlySet<string> = new Set(['Customer', 'Order', 'Cart', 'Wishlist', 'Payment', 'Shipment', 'BehaviorEvent']);

/** Personal data an analyst sees masked, per model. */
export const PII_FIELDS: Record<string, readonly string[]> = {
  Customer: ['email', 'lastName', 'phoneNumber', 'address'],
  Shipment: ['address', 'zipCode', 'trackingNumber'],
};
export const MASK = '***';

/** A Prisma `where` limiting `model` to what `scope` may read, or 'deny' when it may read none of it. */
export function rowFilter(model: string, scope: ReadScope): Record<string, unknown> | 'deny' {
  if (scope.kind === 'all' || CATALOGUE_MODELS.has(model)) return {};
  if (scope.kind === 'catalogue') return 'deny';
  if (OWNED_MODELS.has(model)) return { customerId: scope.customerId };
  if (model === 'OrderItem') return { order: { customerId: scope.customerId } };
  return 'deny';
}

/**
 * Whether one row of `model` may be shown. A customer's order items carry no customer column: they are reached
 * only through queries filtered by rowFilter (their order, their product's connection), so they pass here.
 */
export function canSeeRow(model: string, row: Record<string, unknown> | null | undefined, scope: ReadScope): boolean {
  if (scope.kind === 'all' || CATALOGUE_MODELS.has(model)) return true;
  if (scope.kind === 'catalogue' || !row) return false;
  if (OWNED_MODELS.has(model)) return row.customerId === scope.customerId;
  return model === 'OrderItem';
}

/** Whether a captured change may be delivered: every image of the row it carries must be visible. */
export function canSeeChange(
  event: { table: CdcTable; before: Record<string, unknown> | null; after: Record<string, unknown> | null },
  scope: ReadScope,
): boolean {
  const model = CDC_TABLES[event.table].model;
  if (model === 'OrderItem' && scope.kind === 'customer') return false;
  return [event.before, event.after].every((row) => row === null || canSeeRow(model, row, scope));
}

/** The value of `model.field` as `scope` may see it (PII masked for analysts). */
export function maskValue(model: string, field: string, value: unknown, scope: ReadScope): unknown {
  if (scope.kind !== 'all' || !scope.masked || value === null || value === undefined) return value;
  return PII_FIELDS[model]?.includes(field) ? MASK : value;
}

/** A row (REST, JSON change images) as `scope` may see it. */
export function maskRow<R extends Record<string, unknown> | null>(model: string, row: R, scope: ReadScope): R {
  const fields = PII_FIELDS[model];
  if (!row || !fields || scope.kind !== 'all' || !scope.masked) return row;
  const copy: Record<string, unknown> = { ...row };
  for (const field of fields) if (copy[field] !== null && copy[field] !== undefined) copy[field] = MASK;
  return copy as R;
}

const STAFF: readonly Role[] = ['admin', 'analyst'];
const EVERYONE: readonly Role[] = ['admin', 'service', 'analyst', 'customer', 'anonymous'];
const STOREFRONT: readonly Role[] = ['admin', 'service', 'customer'];
const LIST_READERS: readonly Role[] = ['admin', 'service', 'analyst', 'customer'];

/**
 * A root field's rule: who may call it; `customerArg` names the argument a customer may only set to their own
 * id (and a service acts for, in mutations); `entity` defers to rowFilter of that model (lookups and lists);
 * `table` (subscriptions) defers to the captured table's model.
 */
export interface OperationRule {
  roles: readonly Role[];
  customerArg?: string;
  entity?: string;
  /** Name of the argument holding a captured table's name (tableChanged), or the table itself. */
  table?: CdcTable | { arg: string };
}

const STOREFRONT_MUTATIONS = [
  'viewProduct',
  'browseCategory',
  'addToCart',
  'removeFromCart',
  'addToWishlist',
  'placeOrder',
  'recordRecommendationImpressions',
  'recordRecommendationClick',
];
const ADMIN_MUTATIONS = [
  'simulate',
  'cancelSimulation',
  'generateData',
  'clearData',
  'createExperiment',
  'startExperiment',
  'stopExperiment',
  'createMerchandisingRule',
  'updateMerchandisingRule',
  'deleteMerchandisingRule',
];

/** Subscription field → captured table (mirrors src/graphql/schema/subscriptions.ts). */
export const CHANGE_SUBSCRIPTIONS: Record<string, CdcTable> = {
  categoryChanged: 'categories',
  productChanged: 'products',
  customerChanged: 'customers',
  orderChanged: 'orders',
  orderItemChanged: 'order_items',
  cartChanged: 'carts',
  wishlistChanged: 'wishlists',
  paymentChanged: 'payments',
  shipmentChanged: 'shipments',
  behaviorEvent: 'behavior_events',
};

/** Who may watch a table's changes: the catalogue anyone; customers their own rows (not order items or experiments); staff all. */
function tableRoles(table: CdcTable): readonly Role[] {
  const model = CDC_TABLES[table].model;
  if (CATALOGUE_MODELS.has(model)) return EVERYONE;
  // Order items carry no owner; the experiments' tables belong to no customer: staff only.
  return OWNED_MODELS.has(model) ? ['admin', 'analyst', 'customer'] : STAFF;
}

/** The rule of every root field, by `Type.field`. Lookups and lists of entities are added by `entityOperations`. */
export const OPERATIONS: Record<string, OperationRule> = {
  'Query.recommendations': { roles: LIST_READERS, customerArg: 'customerId' },
  'Query.similarProducts': { roles: EVERYONE },
  'Query.trendingProducts': { roles: EVERYONE },
  'Query.fraudAlerts': { roles: STAFF },
  'Query.revenueStats': { roles: STAFF },
  'Query.topProducts': { roles: STAFF },
  'Query.simulationRun': { roles: STAFF },
  'Query.simulationRuns': { roles: STAFF },
  'Query.experiment': { roles: STAFF },
  'Query.experiments': { roles: STAFF },
  'Query.merchandisingRules': { roles: STAFF },
  ...Object.fromEntries(STOREFRONT_MUTATIONS.map((name) => [`Mutation.${name}`, { roles: STOREFRONT, customerArg: 'customerId' }])),
  ...Object.fromEntries(ADMIN_MUTATIONS.map((name) => [`Mutation.${name}`, { roles: ['admin'] }])),
  ...Object.fromEntries(
    Object.entries(CHANGE_SUBSCRIPTIONS).map(([name, table]) => [`Subscription.${name}`, { roles: tableRoles(table), customerArg: 'customerId', table }]),
  ),
  'Subscription.tableChanged': { roles: EVERYONE, table: { arg: 'table' } },
  'Subscription.fraudAlert': { roles: STAFF },
  'Subscription.revenueUpdated': { roles: STAFF },
  'Subscription.topProductsUpdated': { roles: STAFF },
  'Subscription.recommendationsUpdated': { roles: LIST_READERS, customerArg: 'customerId' },
  'Subscription.experimentUpdated': { roles: STAFF },
};

/** Adds the lookup and list fields of the entities (`customer`, `customers`, …) as entity rules. */
export function entityOperations(resources: readonly { model: string; single: string; list: string }[]): Record<string, OperationRule> {
  return Object.fromEntries(
    resources.flatMap((r) => [
      [`Query.${r.single}`, { roles: EVERYONE, entity: r.model }],
      [`Query.${r.list}`, { roles: EVERYONE, entity: r.model }],
    ]),
  );
}

const forbidden = (message: string) => new AppError('FORBIDDEN', message);

/**
 * Who may scrape /metrics: operational figures (no rows, no personal data, but operation, connector and job names
 * and traffic that tell an outsider how the shop runs), so staff only — a Prometheus scraper sends an analyst token
 * or the METRICS_TOKEN secret (checked by the metrics endpoint itself).
 */
export const METRICS_ROLES: readonly Role[] = STAFF;

/** Throws UNAUTHENTICATED (no token) or FORBIDDEN unless `principal` may read /metrics. */
export function authorizeMetrics(principal: Principal): void {
  if (!METRICS_ROLES.includes(principal.role)) throw denial('Reading /metrics', principal);
}

/** Why `principal` may not do it, phrased with what to do; undefined when it may. */
function denial(what: string, principal: Principal): AppError {
  if (principal.role === 'anonymous')
    return new AppError('UNAUTHENTICATED', `${what} needs a token: send Authorization: Bearer <token> (npx rtrec token --role <role>).`);
  return forbidden(`${what} is not allowed for the ${principal.role} role.`);
}

/**
 * Checks one root field call against its rule and throws UNAUTHENTICATED (no token) or FORBIDDEN. For a service's
 * storefront mutation it records the customer acted for, which the rows the mutation returns are read as.
 */
export function authorizeOperation(rules: Record<string, OperationRule>, type: string, field: string, args: Record<string, unknown>, auth: RequestAuth): void {
  const rule = rules[`${type}.${field}`];
  const { principal } = auth;
  const what = `${type === 'Query' ? 'Reading' : type === 'Mutation' ? 'Calling' : 'Subscribing to'} ${field}`;
  if (!rule?.roles.includes(principal.role)) throw denial(what, principal);
  if (rule.entity && rowFilter(rule.entity, scopeOf(auth)) === 'deny') throw denial(what, principal);
  if (rule.table) {
    const table = typeof rule.table === 'string' ? rule.table : args[rule.table.arg];
    // An unknown table is the resolver's BAD_USER_INPUT; a known one needs the table's own permission.
    if (typeof table === 'string' && isCdcTable(table) && !tableRoles(table).includes(principal.role)) throw denial(`${what} ${table}`, principal);
  }
  if (rule.customerArg) {
    const customer = args[rule.customerArg];
    if (principal.role === 'customer' && customer !== undefined && customer !== null && customer !== principal.customerId) {
      throw forbidden(`A customer token acts only for its own customer (${principal.customerId}): ${rule.customerArg} ${String(customer)} is not allowed.`);
    }
    if (type === 'Mutation' && principal.role === 'service' && typeof customer === 'number') auth.actingFor = customer;
  }
}
