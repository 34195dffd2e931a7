import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Db } from '../database/database.js';
import { inTransaction } from '../database/transaction.js';
import type { Prisma } from '../generated/prisma/client.js';
import { createStorefront } from '../shop/storefront.js';
import { writeBulk } from './bulk-write.js';
import type { ResolvedKeys } from './keys.js';
import { REPLAY_WRITERS } from './options.js';
import { IMPORTED_PAYMENT_METHOD, importedPayments } from './placeholders.js';
import type { ImportAction, ImportPlan } from './plan.js';

type Tx = Prisma.TransactionClient;
type Bookkeeping = (tx: Tx, result: unknown) => Promise<void>;

export interface ReplayOptions {
  source: string;
  /** Clock compression: the log's time offsets are divided by it. */
  speed: number;
  /**
   * Storefront transactions in flight at once. Actions start in the log's order at their due time; one
   * customer's actions never overlap, so each customer sees their own history in order.
   */
  writers?: number;
  /**
   * Batches instead of storefront transactions: the actions due within each interval of this many ms are
   * written together in one transaction by the bulk writer (the rows the storefront would write, at COPY
   * speed), as soon as the interval ends. For replays faster than per-action transactions keep up with.
   */
  batchMs?: number;
  /** The pool the batches are written on (required with batchMs). */
  pool?: pg.Pool;
  signal?: AbortSignal;
  onAction?: (done: number, total: number) => void;
}

/**
 * A Db whose interactive transactions run the caller's bookkeeping before they commit. The storefront opens its
 * own transaction per action; this is how the importer's bookkeeping (which log rows the action recorded) joins
 * that transaction, so a replay stopped at any point leaves no action without it, nor the other way round. The
 * bookkeeping is taken from the async context the storefront call runs in, so concurrent actions keep theirs.
 */
function withBookkeeping(db: Db, current: AsyncLocalStorage<Bookkeeping>): Db {
  const transaction = ((work: (tx: Tx) => Promise<unknown>, options?: unknown) => {
    const after = current.getStore();
    return db.$transaction(async (tx) => {
      const result = await work(tx);
      await after?.(tx, result);
      return result;
    }, options as never);
  }) as Db['$transaction'];
  return new Proxy(db, { get: (target, property) => (property === '$transaction' ? transaction : Reflect.get(target, property, target)) });
}

/**
 * Replays the actions through the storefront, each its own transaction with its behaviour event, at the log's
 * pace × speed, with up to `writers` transactions in flight (one customer's actions in order). Stops starting
 * actions when `signal` aborts and waits for those in flight; returns how many actions were written. A failed
 * action stops the replay: the others in flight finish, then its error is thrown (importing again continues).
 */
export async function replayActions(db: Db, actions: readonly ImportAction[], keys: ResolvedKeys, options: ReplayOptions): Promise<number> {
  if (options.batchMs !== undefined) return replayBatches(options.pool!, actions, keys, options, options.batchMs);
  const current = new AsyncLocalStorage<Bookkeeping>();
  const storefront = createStorefront({ db: withBookkeeping(db, current), payments: importedPayments });
  const { source, speed, signal } = options;
  const writers = options.writers ?? REPLAY_WRITERS.default;
  const start = performance.now();
  const first = actions[0]?.at ?? 0;
  let done = 0;
  let failure: { error: unknown } | undefined;
  const inFlight = new Set<Promise<void>>();
  const lastOfCustomer = new Map<number, Promise<void>>();

  const write = async (action: ImportAction, customerId: number): Promise<void> => {
    const bookkeeping: Bookkeeping = async (tx, result) => {
      await tx.importRow.createMany({ data: action.fingerprints.map((fingerprint) => ({ source, fingerprint })) });
      if (action.kind === 'order') {
        await tx.importKey.createMany({
          data: [{ source, kind: 'order', key: action.orderKey, id: (result as { orderId: number }).orderId }],
          skipDuplicates: true,
        });
      }
    };
    const meta = { at: new Date(action.at), sessionId: action.sessionId };
    await current.run(bookkeeping, async () => {
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
    });
    done++;
    options.onAction?.(done, actions.length);
  };

  for (const action of actions) {
    if (signal?.aborted || failure) break;
    const due = start + (action.at - first) / speed - performance.now();
    if (due > 0) {
      try {
        await sleep(due, undefined, { signal });
      } catch {
        break;
      }
    }
    while (inFlight.size >= writers && !failure) await Promise.race(inFlight);
    if (failure) break;
    const customerId = keys.customers.get(action.user)!;
    const before = lastOfCustomer.get(customerId);
    const task: Promise<void> = (before ?? Promise.resolve())
      .then(() => (failure ? undefined : write(action, customerId)))
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => {
        inFlight.delete(task);
        if (lastOfCustomer.get(customerId) === task) lastOfCustomer.delete(customerId);
      });
    inFlight.add(task);
    lastOfCustomer.set(customerId, task);
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  return done;
}

/**
 * The batched replay: waits for the next action's due time and `batchMs` more, then writes every action due
 * by then in one transaction (writeBulk, with the import bookkeeping), in the log's order. Stops between
 * batches when `signal` aborts.
 */
async function replayBatches(pool: pg.Pool, actions: readonly ImportAction[], keys: ResolvedKeys, options: ReplayOptions, batchMs: number): Promise<number> {
  const { source, speed, signal } = options;
  const start = performance.now();
  const first = actions[0]?.at ?? 0;
  const dueAt = (action: ImportAction) => start + (action.at - first) / speed;
  let done = 0;
  while (done < actions.length && !signal?.aborted) {
    const wait = dueAt(actions[done]!) + batchMs - performance.now();
    if (wait > 0) {
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        break;
      }
    }
    const now = performance.now();
    let end = done;
    while (end < actions.length && dueAt(actions[end]!) <= now) end++;
    const batch: ImportPlan = { actions: actions.slice(done, end), users: new Set(), items: new Map(), rowsKnown: 0, rowsNew: 0 };
    await inTransaction(pool, (client) => writeBulk(client, source, batch, keys));
    done = end;
    options.onAction?.(done, actions.length);
  }
  return done;
}
