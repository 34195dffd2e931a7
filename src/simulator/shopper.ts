import { type Rng, WeightedSampler } from '../common/random.js';
import { ACTION_TYPES, ACTION_WEIGHTS, type ActionType, type PaymentMethodName, pickPaymentMethod } from '../shop/policy.js';
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

  private pickByTaste(): WorldProduct {
    this.sampler ??= new WeightedSampler(this.world.activeProducts, this.world.activeProducts.map((p) => affinity(this.world, this.tastes, p)));
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
