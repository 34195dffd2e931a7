import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createRng, type Rng } from '../common/random.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { advanceFulfilment } from '../shop/fulfilment.js';
import type { RecommendationList, Storefront } from '../shop/storefront.js';
import { ACCOUNT_CHANCES, accountFaker, signUp, updateProfile } from './accounts.js';
import type { SessionRecommendations } from './recommendations.js';
import { MixBalancer, type PlannedAction, Shopper } from './shopper.js';
import { RunStats } from './stats.js';
import type { World } from './world.js';

export interface LiveOptions {
  sessions: number;
  /** Approximate minutes each session lasts on the simulated clock. */
  durationMinutes: number;
  /** Clock compression: 60 runs a 25-minute session in 25 s. */
  speed: number;
  concurrency: number;
  seed: number;
}

export interface LiveDeps {
  pool: pg.Pool;
  storefront: Storefront;
  world: World;
  logger: Logger;
  signal?: AbortSignal;
  onSessionDone?: (done: number, stats: RunStats) => void;
  /** Recommendations shown at the start of each session; none when absent. */
  recommendations?: SessionRecommendations;
}

const SKIPPABLE = new Set(['OUT_OF_STOCK', 'NOT_FOUND', 'EMPTY_CART', 'BAD_USER_INPUT']);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Carries out one planned action through the storefront; returns whether the payment went through. */
async function execute(storefront: Storefront, customerId: number, action: PlannedAction, sessionId: string): Promise<{ paid?: boolean }> {
  const meta = { sessionId };
  switch (action.type) {
    case 'view_product':
      await storefront.viewProduct(customerId, action.productId, meta);
      return {};
    case 'browse_category':
      await storefront.browseCategory(customerId, action.categoryId, meta);
      return {};
    case 'add_to_cart':
      await storefront.addToCart(customerId, action.productId, action.quantity, meta);
      return {};
    case 'remove_from_cart':
      await storefront.removeFromCart(customerId, action.productId, meta);
      return {};
    case 'add_to_wishlist':
      await storefront.addToWishlist(customerId, action.productId, meta);
      return {};
    case 'place_order': {
      const order = await storefront.placeOrder(customerId, action.paymentMethod, { ...meta, items: action.buyNow ? [action.buyNow] : undefined });
      return { paid: order.status === 'paid' };
    }
  }
}

interface SessionState {
  customerId: number;
  sessionId: string;
  shopper: Shopper;
  stats: RunStats;
  meanGapMs: number;
  /** Products opened from a recommendation list in this session. */
  clicked: Set<number>;
  /** Clicked products bought since (counted once each). */
  bought: Set<number>;
}

/**
 * The session's first page shows a recommendation list (one impression event per product, one
 * transaction); the customer opens the products that match their tastes (see CLICK_MODEL), each a
 * recommendation_click followed by the product view, from which the usual funnel goes on.
 */
async function showRecommendations(deps: LiveDeps, recs: SessionRecommendations, rng: Rng, session: SessionState): Promise<void> {
  const { customerId, sessionId, shopper, stats } = session;
  const { items, arm } = await recs.source(customerId, recs.first, { rng, exclude: new Set(shopper.cart.keys()) });
  if (items.length === 0) {
    stats.emptyRecommendationLists++;
    return;
  }
  const list: RecommendationList = arm
    ? { listId: randomUUID(), recommender: arm.recommender, runId: recs.runId, items, experimentId: arm.experimentId, variantId: arm.variantId }
    : { listId: randomUUID(), recommender: recs.recommender, runId: recs.runId, items };
  stats.perform('recommendation_impression', await deps.storefront.showRecommendations(customerId, list, { sessionId }));
  stats.recommendationLists++;
  for (const item of shopper.chooseClicks(items, rng)) {
    await sleep(rng.exponential(session.meanGapMs / 2), deps.signal);
    if (deps.signal?.aborted) return;
    try {
      await deps.storefront.clickRecommendation(customerId, list, item, { sessionId });
    } catch (error) {
      if (!(error instanceof AppError && SKIPPABLE.has(error.code))) throw error;
      stats.skip('recommendation_click', error.code.toLowerCase());
      continue;
    }
    stats.perform('recommendation_click');
    stats.perform('view_product');
    shopper.applied({ type: 'view_product', productId: item.productId });
    session.clicked.add(item.productId);
  }
}

/** Counts a paid order towards conversion when it holds a product opened from the recommendations. */
function countConversion(session: SessionState, productIds: number[]): void {
  const clicked = productIds.filter((id) => session.clicked.has(id));
  if (clicked.length === 0) return;
  session.stats.ordersWithClickedProduct++;
  for (const id of clicked) {
    if (session.bought.has(id)) continue;
    session.bought.add(id);
    session.stats.clickedProductsBought++;
  }
}

async function runSession(deps: LiveDeps, options: LiveOptions, rng: Rng, customerId: number, stats: RunStats, balancer: MixBalancer): Promise<void> {
  const tastes = deps.world.customers.find((c) => c.customerId === customerId)!;
  const shopper = new Shopper(deps.world, tastes, rng, balancer);
  const [cart, wishlist] = await Promise.all([
    deps.pool.query<{ product_id: number; quantity: number }>('SELECT product_id, quantity FROM carts WHERE customer_id = $1', [customerId]),
    deps.pool.query<{ product_id: number }>('SELECT product_id FROM wishlists WHERE customer_id = $1', [customerId]),
  ]);
  for (const r of cart.rows) shopper.cart.set(r.product_id, r.quantity);
  for (const r of wishlist.rows) shopper.wishlist.add(r.product_id);
  const sessionId = randomUUID();
  const steps = Math.max(1, rng.poisson(tastes.activity));
  const meanGapMs = (options.durationMinutes * 60_000) / steps / options.speed;
  const session: SessionState = { customerId, sessionId, shopper, stats, meanGapMs, clicked: new Set(), bought: new Set() };
  // A stream of its own, so that showing recommendations leaves the shopper's own draws where they were.
  if (deps.recommendations) await showRecommendations(deps, deps.recommendations, rng.fork('recommendations'), session);
  for (let step = 0; step < steps && !deps.signal?.aborted; step++) {
    await sleep(rng.exponential(meanGapMs), deps.signal);
    if (deps.signal?.aborted) break;
    const { type, action } = shopper.step(stats);
    if (!action) continue;
    try {
      const ordered = action.type === 'place_order' ? (action.buyNow ? [action.buyNow.productId] : [...shopper.cart.keys()]) : [];
      const outcome = await execute(deps.storefront, customerId, action, sessionId);
      shopper.applied(action, outcome);
      stats.perform(type);
      if (action.type === 'place_order') outcome.paid ? stats.ordersPaid++ : stats.ordersFailed++;
      if (outcome.paid) countConversion(session, ordered);
    } catch (error) {
      if (!(error instanceof AppError && SKIPPABLE.has(error.code))) throw error;
      stats.skip(type, error.code.toLowerCase());
      shopper.couldNot(type);
    }
  }
  stats.sessions++;
}

/**
 * Runs `sessions` shopping sessions, `concurrency` at a time, each through the storefront (one
 * transaction per action, events stamped with the real commit time), while orders move through
 * fulfilment on the same compressed clock.
 */
export async function runLive(deps: LiveDeps, options: LiveOptions): Promise<RunStats> {
  const stats = new RunStats();
  const rng = createRng(options.seed);
  const customers = deps.world.customers.map((c) => c.customerId);
  const busy = new Set<number>();
  const balancer = new MixBalancer();
  const faker = accountFaker(rng.fork('accounts'));
  let next = 0;
  let failure: unknown;
  const fulfilmentTimer = setInterval(
    () => {
      advanceFulfilment(deps.pool, options.speed).catch((error) => deps.logger.warn({ err: error }, 'fulfilment tick failed'));
    },
    Math.max(1000, 60_000 / options.speed),
  );
  const worker = async () => {
    while (next < options.sessions && !deps.signal?.aborted && failure === undefined) {
      const index = next++;
      const sessionRng = rng.fork(index);
      // A customer shops in one session at a time when there are enough customers to go round.
      let customerId = sessionRng.pick(customers);
      for (let tries = 0; busy.has(customerId) && tries < 20; tries++) customerId = sessionRng.pick(customers);
      busy.add(customerId);
      try {
        // A stream of its own, so that account changes leave the shopper's draws where they were.
        const accountRng = sessionRng.fork('account');
        if (accountRng.chance(ACCOUNT_CHANCES.signUp)) {
          busy.delete(customerId);
          customerId = (await signUp(deps.pool, deps.world, accountRng.int(0, 2 ** 30))).customerId;
          customers.push(customerId);
          busy.add(customerId);
          stats.accountChange('sign_up');
        } else if (accountRng.chance(ACCOUNT_CHANCES.profileUpdate)) {
          stats.accountChange(await updateProfile(deps.pool, customerId, accountRng, faker));
        }
        await runSession(deps, options, sessionRng, customerId, stats, balancer);
        deps.onSessionDone?.(stats.sessions, stats);
      } catch (error) {
        failure ??= error;
      } finally {
        busy.delete(customerId);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, options.sessions)) }, worker));
  } finally {
    clearInterval(fulfilmentTimer);
  }
  if (failure !== undefined) throw failure;
  await advanceFulfilment(deps.pool, options.speed);
  return stats;
}
