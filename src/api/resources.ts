import { AppError } from '../errors.js';

/** Page sizes: lists return 20 items unless asked, and never more than 100 (GraphQL and REST alike). */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export type ModelName = 'Category' | 'Product' | 'Customer' | 'Order' | 'OrderItem' | 'Cart' | 'Wishlist' | 'Payment' | 'Shipment' | 'BehaviorEvent';
export type FilterType =
  | 'Int'
  | 'String'
  | 'Boolean'
  | 'DateTime'
  | 'Decimal'
  | 'OrderStatus'
  | 'PaymentStatus'
  | 'PaymentMethod'
  | 'ShipmentStatus'
  | 'BehaviorEventType';

export type FilterSpec =
  | { kind: 'eq'; arg: string; field: string; type: FilterType; description: string }
  | { kind: 'range'; min: string; max: string; field: string; type: 'DateTime' | 'Decimal'; description: string }
  | { kind: 'contains'; arg: string; fields: string[]; description: string };

/** One queryable entity: how GraphQL and REST name it, its key, and the filters that matter for it. */
export interface Resource {
  model: ModelName;
  /** Prisma delegate name. */
  delegate: string;
  /** GraphQL list (connection) field and single lookup field. */
  list: string;
  single: string;
  idField: string;
  /** REST path, as the seed named it. */
  restPath: string;
  filters: FilterSpec[];
}

const eq = (arg: string, type: FilterType, description: string, field = arg): FilterSpec => ({ kind: 'eq', arg, field, type, description });
const range = (min: string, max: string, field: string, type: 'DateTime' | 'Decimal', description: string): FilterSpec => ({
  kind: 'range',
  min,
  max,
  field,
  type,
  description,
});

export const RESOURCES: Resource[] = [
  {
    model: 'Category',
    delegate: 'category',
    list: 'categories',
    single: 'category',
    idField: 'categoryId',
    restPath: '/categories',
    filters: [{ kind: 'contains', arg: 'search', fields: ['name'], description: 'Case-insensitive substring of the name' }],
  },
  {
    model: 'Product',
    delegate: 'product',
    list: 'products',
    single: 'product',
    idField: 'productId',
    restPath: '/products',
    filters: [
      eq('categoryId', 'Int', 'Only products in this category'),
      eq('isActive', 'Boolean', 'Only active (or inactive) products'),
      range('minPrice', 'maxPrice', 'price', 'Decimal', 'Price range, inclusive'),
      { kind: 'contains', arg: 'search', fields: ['name', 'sku'], description: 'Case-insensitive substring of name or SKU' },
    ],
  },
  {
    model: 'Customer',
    delegate: 'customer',
    list: 'customers',
    single: 'customer',
    idField: 'customerId',
    restPath: '/customers',
    filters: [
      { kind: 'contains', arg: 'search', fields: ['firstName', 'lastName', 'email'], description: 'Case-insensitive substring of name or email' },
      range('createdFrom', 'createdTo', 'createdAt', 'DateTime', 'Sign-up date range, inclusive'),
    ],
  },
  {
    model: 'Order',
    delegate: 'order',
    list: 'orders',
    single: 'order',
    idField: 'orderId',
    restPath: '/orders',
    filters: [
      eq('customerId', 'Int', 'Orders of this customer'),
      eq('status', 'OrderStatus', 'Orders in this status'),
      range('from', 'to', 'orderDate', 'DateTime', 'Order date range, inclusive'),
      range('minTotal', 'maxTotal', 'totalPrice', 'Decimal', 'Order total range, inclusive'),
    ],
  },
  {
    model: 'OrderItem',
    delegate: 'orderItem',
    list: 'orderItems',
    single: 'orderItem',
    idField: 'orderItemId',
    restPath: '/order_item',
    filters: [eq('orderId', 'Int', 'Items of this order'), eq('productId', 'Int', 'Items of this product')],
  },
  {
    model: 'Cart',
    delegate: 'cart',
    list: 'carts',
    single: 'cart',
    idField: 'cartId',
    restPath: '/carts',
    filters: [
      eq('customerId', 'Int', "This customer's cart lines"),
      eq('productId', 'Int', 'Cart lines holding this product'),
      range('from', 'to', 'addedAt', 'DateTime', 'Added-at range, inclusive'),
    ],
  },
  {
    model: 'Wishlist',
    delegate: 'wishlist',
    list: 'wishlists',
    single: 'wishlist',
    idField: 'wishlistId',
    restPath: '/wishlist',
    filters: [
      eq('customerId', 'Int', "This customer's wishlist"),
      eq('productId', 'Int', 'Wishlist entries for this product'),
      range('from', 'to', 'addedAt', 'DateTime', 'Added-at range, inclusive'),
    ],
  },
  {
    model: 'Payment',
    delegate: 'payment',
    list: 'payments',
    single: 'payment',
    idField: 'paymentId',
    restPath: '/payment',
    filters: [
      eq('customerId', 'Int', "This customer's payments"),
      eq('status', 'PaymentStatus', 'Payments in this status'),
      eq('paymentMethod', 'PaymentMethod', 'Payments made with this method'),
      range('from', 'to', 'paymentDate', 'DateTime', 'Payment date range, inclusive'),
      range('minAmount', 'maxAmount', 'amount', 'Decimal', 'Amount range, inclusive'),
    ],
  },
  {
    model: 'Shipment',
    delegate: 'shipment',
    list: 'shipments',
    single: 'shipment',
    idField: 'shipmentId',
    restPath: '/shipments',
    filters: [
      eq('customerId', 'Int', "This customer's shipments"),
      eq('status', 'ShipmentStatus', 'Shipments in this status'),
      range('from', 'to', 'createdAt', 'DateTime', 'Creation date range, inclusive'),
    ],
  },
  {
    model: 'BehaviorEvent',
    delegate: 'behaviorEvent',
    list: 'behaviorEvents',
    single: 'behaviorEvent',
    idField: 'eventId',
    restPath: '/behavior_events',
    filters: [
      eq('customerId', 'Int', "This customer's events"),
      eq('productId', 'Int', 'Events about this product'),
      eq('categoryId', 'Int', 'Events in this category'),
      eq('eventType', 'BehaviorEventType', 'Events of this type'),
      eq('sessionId', 'String', 'Events of this session (UUID)'),
      range('from', 'to', 'occurredAt', 'DateTime', 'Time range, inclusive'),
    ],
  },
];

/** Fields never exposed by any API (secrets stay in the database). */
/** Order.request: placeOrder's idempotency bookkeeping (the key is the client's, not shop data). */
export const HIDDEN_FIELDS: Record<string, string[]> = { Customer: ['passwordHash', 'tastes'], Product: ['traits'], Order: ['request'] };
/** Simulator ground truth: read by evaluations from the database, never served. */
export const HIDDEN_MODELS = new Set(['CustomerTastes', 'ProductTraits', 'SimulationRun']);

/** The date-times the API accepts: PostgreSQL stores far more, but years outside 1–9999 have no ISO-8601 form every client reads. */
export const DATE_RANGE = { min: '0001-01-01T00:00:00Z', max: '9999-12-31T23:59:59.999Z' } as const;
const DATE_MIN_MS = Date.parse(DATE_RANGE.min);
const DATE_MAX_MS = Date.parse(DATE_RANGE.max);

export function inDateRange(date: Date): boolean {
  const ms = date.getTime();
  return ms >= DATE_MIN_MS && ms <= DATE_MAX_MS;
}

/** A search term as a literal substring: LIKE's wildcards (%, _) and its escape character match only themselves. */
export function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Turns validated filter arguments into a Prisma `where`; rejects inverted ranges. */
export function buildWhere(resource: Resource, args: Record<string, unknown>): Record<string, unknown> {
  const where: Record<string, unknown>[] = [];
  for (const f of resource.filters) {
    if (f.kind === 'eq' && args[f.arg] !== undefined && args[f.arg] !== null) where.push({ [f.field]: args[f.arg] });
    if (f.kind === 'contains' && typeof args[f.arg] === 'string' && args[f.arg] !== '') {
      // Prisma passes the term into ILIKE '%…%' as it is: escape it, or "%" matches every row.
      const term = escapeLike(args[f.arg] as string);
      where.push({ OR: f.fields.map((field) => ({ [field]: { contains: term, mode: 'insensitive' } })) });
    }
    if (f.kind === 'range') {
      const min = args[f.min] ?? undefined;
      const max = args[f.max] ?? undefined;
      if (min !== undefined && max !== undefined && compare(min, max) > 0) {
        throw new AppError('BAD_USER_INPUT', `${f.min} must not be after ${f.max}.`, { field: f.min });
      }
      if (min !== undefined || max !== undefined) where.push({ [f.field]: { ...(min !== undefined && { gte: min }), ...(max !== undefined && { lte: max }) } });
    }
  }
  return where.length ? { AND: where } : {};
}

function compare(a: unknown, b: unknown): number {
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  return Number(a) - Number(b);
}

export function resourceByModel(model: string): Resource | undefined {
  return RESOURCES.find((r) => r.model === model);
}
