import { createHash, randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { PaymentGateway, PaymentMethodName } from '../shop/policy.js';

/**
 * What the importer fills in for the shop columns a log does not have. Nothing here looks like personal data:
 * customers get a name that says "imported", an address-less `.invalid` email (RFC 2606: never deliverable)
 * and no password, phone number or address.
 */

/** A product the log never prices costs this much, so revenue figures of such a log count items. */
export const PLACEHOLDER_PRICE_CENTS = 100;
/**
 * Stock of an imported product: more than any log buys, so imported orders never fail a stock check in either
 * mode (orders still take their quantities off it, as the storefront does).
 */
export const IMPORTED_STOCK = 1_000_000_000;
/** Not a scrypt hash, so verifyPassword never accepts anything for an imported customer. */
export const NO_PASSWORD = '!imported: no password';
/** A log does not say how an order was paid; imported orders are recorded as paid this way. */
export const IMPORTED_PAYMENT_METHOD: PaymentMethodName = 'credit_card';

const SOURCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

/** Checks a --source name: it ends up in emails and category names, so it is short and plain. */
export function checkSource(source: string): string {
  if (!SOURCE_PATTERN.test(source)) {
    throw new AppError(
      'BAD_USER_INPUT',
      `--source "${source}" is not a source name: use 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      { field: 'source' },
    );
  }
  return source;
}

/** The default source of a file: its name without the extension, made into a valid source name. */
export function sourceOfFile(file: string): string {
  const base = file
    .split('/')
    .pop()!
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 40);
  return base || 'import';
}

const hashOf = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** `text` cut to `max` characters; a cut text ends in a hash of the whole, so two long keys stay distinct. */
function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 13)}…${hashOf(text, 12)}`;
}

/** Placeholder columns of an imported customer. */
export function customerPlaceholder(source: string, key: string) {
  const local = /^[A-Za-z0-9._-]{1,100}$/.test(key) ? key : `h${hashOf(key, 32)}`;
  return { firstName: 'Imported', lastName: bounded(`customer ${key}`, 100), email: `imported-${source}-${local}@import.invalid` };
}

/** Name and description of an imported category (the log's value, marked with its source: names are unique). */
export function categoryPlaceholder(source: string, value: string | null) {
  const suffix = ` [${source}]`;
  return {
    name: `${bounded(value ?? 'Uncategorised', 100 - suffix.length)}${suffix}`,
    description: value === null ? `Imported from ${source}: items the log gives no category` : `Imported from ${source}, category "${value}"`,
  };
}

/** SKU, name and description of an imported product; the SKU embeds the id taken from the sequence. */
export function productPlaceholder(source: string, productId: number, key: string, name: string | null) {
  return {
    sku: `IMP-${productId}`,
    name: name ?? bounded(`Imported item ${key}`, 200),
    description: `Imported from ${source}, item "${key}"`,
  };
}

/** Payment ids for imported orders; a log's purchases happened, so their payments completed. */
export function importedTransactionId(): string {
  return `txn_imp_${randomUUID().replaceAll('-', '')}`;
}

/** The replay's payment provider: every charge of an imported purchase succeeds. */
export const importedPayments: PaymentGateway = {
  charge: () => ({ status: 'completed', transactionId: importedTransactionId() }),
};
