import type pg from 'pg';
import { createChannelListener } from '../database/listener.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Recommendation, Recommender, RecommendOptions } from './serving.js';

/*
 * Live recommendations: a per-customer cache in front of the served query, and pushes of new lists.
 *
 * When Flink writes a customer's features (rec_customer_product, rec_customer_category) or the customer's
 * cart changes, a trigger notifies the channel `rtrec_customer_inputs` with the customer id (migration
 * 20261124080000_recommendation_notify). This process LISTENs on one connection of its own: a notification
 * drops that customer's cached lists and, after a short debounce (features of one action land in a few
 * writes), recomputes the lists its subscribers watch and pushes the ones that changed. So a customer's own
 * action reaches `recommendations` and `recommendationsUpdated` as soon as Flink has written its features,
 * and a cached list never outlives its inputs. Other customers' actions (co-occurrence, trends) reach a cached
 * list within `ttlMs`.
 */

export const NOTIFY_CHANNEL = 'rtrec_customer_inputs';

export interface ListOptions {
  first: number;
  categoryId?: number;
}

export interface LiveOptions {
  /** How long a list is served from memory unless the customer's inputs change first (0 disables the cache). */
  ttlMs?: number;
  /** Lists kept in memory at most (least recently computed go first). */
  maxEntries?: number;
  /** Wait after a notification before recomputing, so one action's feature writes count once. */
  debounceMs?: number;
  /** The served recommender (from the composition root). */
  recommender: Recommender;
  /**
   * Serves a customer's list in place of `recommender` (the experiments: the customer's variant while one runs),
   * returning the list and the experiment arm that served it.
   */
  serve?: (
    customerId: number,
    options: RecommendOptions,
  ) => Promise<{ items: Recommendation[]; arm?: { experimentId: number; variantId: number; variant: string } }>;
  /** Told about every lookup, computed list and push (the metrics). */
  observer?: LiveObserver;
}

/** What the live recommendations report (src/metrics implements it). */
export interface LiveObserver {
  lookup(hit: boolean): void;
  computed(seconds: number): void;
  pushed(): void;
}

interface Entry {
  at: number;
  list: Promise<Recommendation[]>;
}

type Listener = (list: Recommendation[]) => void;

interface Watch {
  options: ListOptions;
  listeners: Set<Listener>;
  last?: string;
  /** Counts the recomputations started: only the newest may push (an older one can finish later, with older inputs). */
  generation: number;
}

/** What makes two lists different for a subscriber: the products, their order and their reasons. */
export function listSignature(list: Recommendation[]): string {
  return list.map((r) => `${r.productId}:${r.reason}:${r.variantId ?? ''}`).join('|');
}

export function createLiveRecommendations(pool: pg.Pool, logger: Logger, options: LiveOptions) {
  const ttlMs = options.ttlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 20_000;
  const debounceMs = options.debounceMs ?? 100;
  const recommender = options.recommender;
  const observer = options.observer;
  const cache = new Map<string, Entry>();
  const keysByCustomer = new Map<number, Set<string>>();
  /** customer → (list key → watch) */
  const watches = new Map<number, Map<string, Watch>>();
  const pending = new Map<number, NodeJS.Timeout>();

  const keyOf = (customerId: number, o: ListOptions) => `${customerId}:${o.first}:${o.categoryId ?? ''}`;

  function forget(customerId: number): void {
    for (const key of keysByCustomer.get(customerId) ?? []) cache.delete(key);
    keysByCustomer.delete(customerId);
  }

  async function compute(customerId: number, o: ListOptions): Promise<Recommendation[]> {
    const customer = await pool.query({ name: 'rtrec-customer-exists', text: 'SELECT 1 FROM customers WHERE customer_id = $1', values: [customerId] });
    if (customer.rowCount === 0) throw new AppError('NOT_FOUND', `Customer ${customerId} does not exist. Query customers to find a valid id.`);
    const started = performance.now();
    const served = options.serve
      ? await options.serve(customerId, { first: o.first, categoryId: o.categoryId })
      : { items: await recommender.recommend(customerId, { first: o.first, categoryId: o.categoryId }) };
    const arm = served.arm;
    const list = arm ? served.items.map((r) => ({ ...r, experimentId: arm.experimentId, variantId: arm.variantId, variant: arm.variant })) : served.items;
    observer?.computed((performance.now() - started) / 1000);
    return list;
  }

  async function get(customerId: number, o: ListOptions): Promise<Recommendation[]> {
    if (ttlMs <= 0) {
      observer?.lookup(false);
      return compute(customerId, o);
    }
    void listen();
    const key = keyOf(customerId, o);
    const hit = cache.get(key);
    const fresh = hit !== undefined && Date.now() - hit.at < ttlMs;
    observer?.lookup(fresh);
    if (fresh) return hit.list;
    const list = compute(customerId, o);
    cache.delete(key);
    cache.set(key, { at: Date.now(), list });
    let keys = keysByCustomer.get(customerId);
    if (!keys) keysByCustomer.set(customerId, (keys = new Set()));
    keys.add(key);
    list.catch(() => {
      if (cache.get(key)?.list === list) cache.delete(key);
    });
    while (cache.size > maxEntries) {
      const oldest = cache.keys().next().value as string;
      cache.delete(oldest);
      keysByCustomer.get(Number(oldest.split(':')[0]))?.delete(oldest);
    }
    return list;
  }

  async function refresh(customerId: number): Promise<void> {
    forget(customerId);
    for (const watch of watches.get(customerId)?.values() ?? []) {
      const generation = ++watch.generation;
      try {
        const list = await get(customerId, watch.options);
        // A newer recomputation started meanwhile (two changes close together): its list is the current one.
        if (generation !== watch.generation) continue;
        const signature = listSignature(list);
        if (signature === watch.last) continue;
        watch.last = signature;
        for (const l of watch.listeners) {
          l(list);
          observer?.pushed();
        }
      } catch (error) {
        logger.warn({ err: error, customerId }, 'recomputing recommendations failed; the next change retries');
      }
    }
  }

  function onInputsChanged(customerId: number): void {
    forget(customerId);
    if (!watches.has(customerId) || pending.has(customerId)) return;
    pending.set(
      customerId,
      setTimeout(() => {
        pending.delete(customerId);
        void refresh(customerId);
      }, debounceMs),
    );
  }

  /** One LISTEN connection, opened on first use, reopened with backoff after a failure until the pool ends. */
  const changes = createChannelListener(pool, logger, {
    channel: NOTIFY_CHANNEL,
    onId: onInputsChanged,
    // Changes missed while not listening: drop every cached list.
    onListening: () => {
      cache.clear();
      keysByCustomer.clear();
    },
    lostMessage: 'recommendation change listener lost its connection; cached lists expire by TTL until it is back',
    failedMessage: 'could not LISTEN for recommendation input changes; retrying',
  });
  const listen = () => changes.start();

  return {
    /** The customer's list, from memory when its inputs have not changed within the TTL. */
    get,
    /**
     * Calls `onList` with the current list, then with every new list (products, order or reasons changed)
     * after the customer's inputs change. Returns the unsubscribe function.
     */
    async watch(customerId: number, o: ListOptions, onList: Listener): Promise<() => void> {
      await listen();
      // The list first: an unknown customer or a failed query registers nothing.
      const list = await get(customerId, o);
      const key = keyOf(customerId, o);
      let byKey = watches.get(customerId);
      if (!byKey) watches.set(customerId, (byKey = new Map()));
      let watch = byKey.get(key);
      if (!watch) byKey.set(key, (watch = { options: o, listeners: new Set(), generation: 0 }));
      watch.last ??= listSignature(list);
      watch.listeners.add(onList);
      onList(list);
      return () => {
        watch.listeners.delete(onList);
        if (watch.listeners.size === 0) byKey.delete(key);
        if (byKey.size === 0) watches.delete(customerId);
      };
    },
    /**
     * Drops every cached list and recomputes the watched ones, pushing those that changed: what serves every
     * customer changed (an experiment started or stopped, a merchandising rule changed).
     */
    async refreshAll(): Promise<void> {
      cache.clear();
      keysByCustomer.clear();
      await Promise.all([...watches.keys()].map((customerId) => refresh(customerId)));
    },
    /** For tests and benches: whether the LISTEN connection is up. */
    listening: () => listen().then(() => changes.connected()),
    async close(): Promise<void> {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
      await changes.close();
    },
  };
}

export type LiveRecommendations = ReturnType<typeof createLiveRecommendations>;
