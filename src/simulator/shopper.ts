import { type Rng, WeightedSampler } from '../common/random.js';
import type { PaymentMethodName } from '../shop/policy.js';
import { ACTION_TYPES, ACTION_WEIGHTS, type ActionType, pickPaymentMethod } from './behaviour.js';
import type { RunStats } from './stats.js';
import type { Tastes, World, WorldProduct } from './world.js';

export type PlannedAction =
  | { type: 'view_product'; productId: number }
  | { type: 'browse_category'; categoryId: number }
  | { type: 'add_to_cart'; productId: number; quantity: number }
  | { type: 'remove_from_cart'; productId: number }
  | { type: 'add_to_wishlist'; productId: number }
  | { type: 'place_order'; paymentMethod: PaymentMethodName; buyNow?: { productId: number; quantity: number } };

const ACTION_WEIGHT_LIST = ACTION_TYPES.map((t) => ACTION_WEIGHTS[t]);

/**
 * Keeps the recorded action mix on the seed's weights. An action that could not happen when drawn
 * (removing from an empty cart, an item out of stock) becomes a debt that is paid the next time it can
 * happen, for any shopper of the run, so events by type follow the weights rather than drifting.
 */
export class MixBalancer {
  private readonly debts = new Map<ActionType, number>();

  owe(type: ActionType): void {
    this.debts.set(type, (this.debts.get(type) ?? 0) + 1);
  }

  /** A debt that `feasible` allows paying now, marked as paid; undefined when there is none. */
  take(feasible: (type: ActionType) => boolean): ActionType | undefined {
    for (const [type, count] of this.debts) {
      if (count > 0 && feasible(type)) {
        this.debts.set(type, count - 1);
        return type;
      }
    }
    return undefined;
  }
}

/** How strongly a customer's taste shapes each choice, so that behaviour has learnable structure. */
export function affinity(world: World, tastes: Tastes, product: WorldProduct): number {
  const category = tastes.categoryWeights.get(product.categoryId) ?? 0.001;
  const relativePrice = product.priceCents / (world.medianPrice.get(product.categoryId) ?? product.priceCents);
  const priceFactor = Math.exp(-1.5 * tastes.priceSensitivity * Math.log(Math.max(relativePrice, 0.05)));
  const favourite = tastes.favoriteProducts.includes(product.productId) ? 4 : 1;
  return category * product.popularity * priceFactor * favourite;
}

/**
 * The click model of a shown recommendation. The chance grows with how well the product matches the
 * customer's hidden tastes, relative to the average active product (`relativeAffinity` 1 = average), and
 * saturates: an average product is clicked 10% of the time at the top of a list, one eight times as
 * well matched 33%, one a fifth as well matched 2.4%. A product bought together with something in the
 * cart or just viewed counts `complementBoost` times as well matched (the shopper seeks those out too).
 * Lower positions are examined less often.
 */
export const CLICK_MODEL = { ceiling: 0.5, halfAt: 4, positionDecay: 0.15, complementBoost: 3 } as const;

export function clickProbability(relativeAffinity: number, position: number): number {
  const r = Math.max(0, relativeAffinity);
  const examined = 1 / (1 + CLICK_MODEL.positionDecay * (Math.max(1, position) - 1));
  return (examined * CLICK_MODEL.ceiling * r) / (r + CLICK_MODEL.halfAt);
}

/**
 * One customer in one session: picks the next action by the seed's weights and its target by the
 * customer's hidden tastes, remembering what it viewed and what is in the cart. It plans only; an
 * executor (live storefront or historical bulk writer) carries the action out and reports back.
 */
export class Shopper {
  readonly cart = new Map<number, number>();
  readonly wishlist = new Set<number>();
  private readonly viewed: number[] = [];
  private focusCategory: number | undefined;
  private sampler: WeightedSampler<WorldProduct> | undefined;
  private meanAffinity: number | undefined;

  constructor(
    private readonly world: World,
    readonly tastes: Tastes,
    private readonly rng: Rng,
    private readonly balancer: MixBalancer = new MixBalancer(),
  ) {}

  /** The next action type: an outstanding debt that is possible now, else a draw by the seed's weights. */
  chooseAction(): ActionType {
    const owed = this.balancer.take((type) => type !== 'remove_from_cart' || this.cart.size > 0);
    return owed ?? ACTION_TYPES[this.rng.weightedIndex(ACTION_WEIGHT_LIST)]!;
  }

  /**
   * One step of a session: draws the next action and plans it. An impossible action is counted as
   * skipped and owed, and comes back undefined.
   */
  step(stats: RunStats): { type: ActionType; action?: PlannedAction } {
    const type = this.chooseAction();
    stats.attempt(type);
    const action = this.plan(type);
    if (!action) {
      stats.skip(type, 'not_possible');
      this.couldNot(type);
    }
    return { type, action };
  }

  /** Executors call this when an action could not be carried out, so that it is made up later. */
  couldNot(type: ActionType): void {
    this.balancer.owe(type);
  }

  /** The concrete action for `type`, or undefined when it is not possible now (e.g. removing from an empty cart). */
  plan(type: ActionType): PlannedAction | undefined {
    switch (type) {
      case 'view_product':
        return { type, productId: this.pickToView().productId };
      case 'browse_category': {
        const cats = [...this.tastes.categoryWeights.entries()].filter(([c]) => this.world.productsByCategory.has(c));
        if (!cats.length) return undefined;
        return { type, categoryId: cats[this.rng.weightedIndex(cats.map(([, w]) => w))]![0] };
      }
      case 'add_to_cart': {
        const product = this.pickToBuy();
        const quantity = this.rng.chance(0.85) ? 1 : this.rng.chance(0.8) ? 2 : 3;
        return { type, productId: product.productId, quantity };
      }
      case 'remove_from_cart': {
        if (this.cart.size === 0) return undefined;
        // The line the customer likes least is the one that goes.
        const lines = [...this.cart.keys()];
        const scores = lines.map((id) => 1 / (1e-6 + affinity(this.world, this.tastes, this.world.products.get(id)!)));
        return { type, productId: lines[this.rng.weightedIndex(scores)]! };
      }
      case 'add_to_wishlist': {
        const candidates = this.viewed.filter((id) => !this.wishlist.has(id));
        const productId = candidates.length && this.rng.chance(0.6) ? this.rng.pick(candidates) : this.pickByTaste().productId;
        return { type, productId };
      }
      case 'place_order': {
        const paymentMethod = pickPaymentMethod(this.rng);
        if (this.cart.size > 0) return { type, paymentMethod };
        return { type, paymentMethod, buyNow: { productId: this.pickToBuy().productId, quantity: 1 } };
      }
    }
  }

  /** Executors report what actually happened so the next plan sees the same state as the database. */
  applied(action: PlannedAction, outcome: { paid?: boolean } = {}): void {
    switch (action.type) {
      case 'view_product':
        this.viewed.push(action.productId);
        break;
      case 'browse_category':
        this.focusCategory = action.categoryId;
        break;
      case 'add_to_cart':
        this.cart.set(action.productId, (this.cart.get(action.productId) ?? 0) + action.quantity);
        break;
      case 'remove_from_cart':
        this.cart.delete(action.productId);
        break;
      case 'add_to_wishlist':
        this.wishlist.add(action.productId);
        break;
      case 'place_order':
        if (outcome.paid && !action.buyNow) this.cart.clear();
        break;
    }
  }

  /**
   * Which of the shown products the customer opens, in list order: each independently, with the click
   * model's chance for its taste match and position. `rng` is the caller's, so that showing
   * recommendations does not shift the draws of the shopper's own actions.
   */
  chooseClicks<T extends { productId: number; position: number }>(shown: readonly T[], rng: Rng): T[] {
    return shown.filter((item) => rng.chance(clickProbability(this.relativeAffinity(item.productId), item.position)));
  }

  /**
   * The customer's affinity for a product over their average for active products (0 for unknown or
   * inactive ones), boosted when it goes with something in the cart or recently viewed.
   */
  relativeAffinity(productId: number): number {
    const product = this.world.products.get(productId);
    if (!product?.isActive) return 0;
    this.meanAffinity ??=
      this.world.activeProducts.reduce((sum, p) => sum + affinity(this.world, this.tastes, p), 0) / Math.max(1, this.world.activeProducts.length);
    if (this.meanAffinity <= 0) return 0;
    const complement = [...this.cart.keys(), ...this.viewed.slice(-3)].some((id) => this.world.products.get(id)?.complements.includes(productId));
    return (affinity(this.world, this.tastes, product) / this.meanAffinity) * (complement ? CLICK_MODEL.complementBoost : 1);
  }

  private pickByTaste(): WorldProduct {
    this.sampler ??= new WeightedSampler(
      this.world.activeProducts,
      this.world.activeProducts.map((p) => affinity(this.world, this.tastes, p)),
    );
    return this.sampler.draw(this.rng);
  }

  private complementOf(productIds: number[]): WorldProduct | undefined {
    if (!productIds.length) return undefined;
    const source = this.world.products.get(this.rng.pick(productIds));
    const options = (source?.complements ?? []).map((id) => this.world.products.get(id)).filter((p): p is WorldProduct => !!p?.isActive);
    return options.length ? this.rng.pick(options) : undefined;
  }

  private pickToView(): WorldProduct {
    const last = this.viewed.at(-1);
    if (last !== undefined && this.rng.chance(0.25)) {
      const complement = this.complementOf([last]);
      if (complement) return complement;
    }
    if (this.focusCategory !== undefined && this.rng.chance(0.5)) {
      const inCategory = this.world.categorySampler(this.focusCategory);
      if (inCategory) return inCategory.draw(this.rng);
    }
    if (this.tastes.favoriteProducts.length && this.rng.chance(0.1)) {
      const fav = this.world.products.get(this.rng.pick(this.tastes.favoriteProducts));
      if (fav?.isActive) return fav;
    }
    return this.pickByTaste();
  }

  private pickToBuy(): WorldProduct {
    const roll = this.rng.next();
    if (roll < 0.35 && this.cart.size) {
      // Items that are bought together: the complement of something already in the cart.
      const complement = this.complementOf([...this.cart.keys()]);
      if (complement) return complement;
    }
    if (roll < 0.85 && this.viewed.length) {
      const product = this.world.products.get(this.viewed[this.viewed.length - 1 - Math.floor(this.rng.next() * Math.min(3, this.viewed.length))]!);
      if (product?.isActive) return product;
    }
    return this.pickByTaste();
  }
}
