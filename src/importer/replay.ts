import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../database/database.js';
import type { Prisma } from '../generated/prisma/client.js';
import { createStorefront } from '../shop/storefront.js';
import type { ResolvedKeys } from './keys.js';
import { IMPORTED_PAYMENT_METHOD, importedPayments } from './placeholders.js';
import type { ImportAction } from './plan.js';

type Tx = Prisma.TransactionClient;

export interface ReplayOptions {
  source: string;
  /** Clock compression: the log's time offsets are divided by it. */
  speed: number;
  signal?: AbortSignal;
  onAction?: (done: number, total: number) => void;
}

/**
 * A Db whose interactive transactions run `after(tx, result)` before they commit. The storefront opens its own
 * transaction per action; this is how the importer's bookkeeping (which log rows the action recorded) joins
 * that transaction, so a replay stopped at any point leaves no action without it, nor the other way round.
 */
function withBookkeeping(db: Db, after: () => ((tx: Tx, result: unknown) => Promise<void>) | undefined): Db {
  const transaction = ((work: (tx: Tx) => Promise<unknown>, options?: unknown) =>
    db.$transaction(async (tx) => {
      const result = await work(tx);
      await after()?.(tx, result);
      return result;
    }, options as never)) as Db['$transaction'];
  return new Proxy(db, { get: (target, property) => (property === '$transaction' ? transaction : Reflect.get(target, property, target)) });
}

/**
 * Replays the actions through the storefront, each its own transaction with its behaviour event, at the log's
 * pace × speed. Stops between actions when `signal` aborts; returns how many actions were written.
 */
export async function replayActions(db: Db, actions: readonly ImportAction[], keys: ResolvedKeys, options: ReplayOptions): Promise<number> {
  let bookkeeping: ((tx: Tx, result: unknown) => Promise<void>) | undefined;
  const storefront = createStorefront({ db: withBookkeeping(db, () => bookkeeping), payments: importedPayments });
  const { source, speed, signal } = options;
  const start = performance.now();
  const first = actions[0]?.at ?? 0;
  let done = 0;

  for (const action of actions) {
    if (signal?.aborted) break;
    const due = start + (action.at - first) / speed - performance.now();
    if (due > 0) {
      try {
        await sleep(due, undefined, { signal });
      } catch {
        break;
      }
    }
    const fingerprints = action.fingerprints;
    bookkeeping = async (tx, result) => {
      await tx.importRow.createMany({ data: fingerprints.map((fingerprint) => ({ source, fingerprint })) });
      if (action.kind === 'order') {
        await tx.importKey.createMany({
          data: [{ source, kind: 'order', key: action.orderKey, id: (result as { orderId: number }).orderId }],
          skipDuplicates: true,
        });
      }
    };
    const customerId = keys.customers.get(action.user)!;
    const meta = { at: new Date(action.at), sessionId: action.sessionId };
    switch (action.kind) {
      case 'view_product':
        await storefront.viewProduct(customerId, keys.products.get(action.item)!.productId, meta);
        break;
      case 'add_to_wishlist':
        await storefront.addToWishlist(customerId, keys.products.get(action.item)!.productId, meta);
        break;
      case 'add_to_cart':
        await storefront.addToCart(customerId, keys.products.get(action.item)!.productId, action.quantity, meta);
        break;
      case 'order':
        // "Buy now" with the log's lines: the order holds exactly what the log bought, and the cart (which the
        // log's cart events filled) stays as the log left it.
        await storefront.placeOrder(customerId, IMPORTED_PAYMENT_METHOD, {
          ...meta,
          items: action.lines.map((l) => ({ productId: keys.products.get(l.item)!.productId, quantity: l.quantity })),
        });
        break;
    }
    done++;
    options.onAction?.(done, actions.length);
  }
  return done;
}
