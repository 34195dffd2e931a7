import type { Recommendation } from '../recommend/serving.js';

/*
 * The semantics of merchandising rules on one served list, as a pure function (rules.ts loads the rules and the
 * products they need). Applied after scoring, in this order:
 *   1. filter  removes every product its selector picks;
 *   2. boost / bury  multiply the score of each product their selector picks by `factor` (several multiply); the
 *      list is re-sorted by the new scores (ties keep the recommender's order) and cut to `first`; a boosted
 *      product's reason becomes "new arrival" when the strongest boost selects by age, "promoted" otherwise;
 *   3. pin  puts its product at its position (1 = first), reason "promoted", unless the product is filtered,
 *      inactive, out of stock or in the customer's cart; pins at the same position keep rule order; the list stays
 *      `first` long.
 * A selector's conditions (product, category, price range, stock range, new in the last N days) must all hold.
 */

export type RuleAction = 'pin' | 'boost' | 'bury' | 'filter';

export interface Selector {
  productId?: number | null;
  categoryId?: number | null;
  minPrice?: number | null;
  maxPrice?: number | null;
  minStock?: number | null;
  maxStock?: number | null;
  newWithinDays?: number | null;
}

export interface ActiveRule extends Selector {
  ruleId: number;
  action: RuleAction;
  factor?: number | null;
  position?: number | null;
}

/** What a rule may look at of a product. */
export interface ProductFacts {
  productId: number;
  name: string;
  categoryId: number;
  categoryName: string;
  price: string;
  stock: number;
  isActive: boolean;
  createdAt: Date;
  inCart: boolean;
}

const DAY_MS = 86_400_000;

/** Whether the rule's selector picks the product. */
export function selects(rule: Selector, p: ProductFacts, now: Date): boolean {
  const price = Number(p.price);
  if (rule.productId != null && p.productId !== rule.productId) return false;
  if (rule.categoryId != null && p.categoryId !== rule.categoryId) return false;
  if (rule.minPrice != null && price < rule.minPrice) return false;
  if (rule.maxPrice != null && price > rule.maxPrice) return false;
  if (rule.minStock != null && p.stock < rule.minStock) return false;
  if (rule.maxStock != null && p.stock > rule.maxStock) return false;
  if (rule.newWithinDays != null && p.createdAt.getTime() < now.getTime() - rule.newWithinDays * DAY_MS) return false;
  return true;
}

/** Whether a rule with this time window is in force at `now` (start inclusive, end exclusive). */
export function inWindow(rule: { startsAt?: Date | null; endsAt?: Date | null }, now: Date): boolean {
  return (!rule.startsAt || rule.startsAt.getTime() <= now.getTime()) && (!rule.endsAt || now.getTime() < rule.endsAt.getTime());
}

/** The products the rules pin. */
export function pinnedProducts(rules: readonly ActiveRule[]): number[] {
  return rules.filter((r) => r.action === 'pin' && r.productId != null).map((r) => r.productId!);
}

/** The products a list and its pins need facts about. */
export function productsNeeded(list: readonly Recommendation[], rules: readonly ActiveRule[]): number[] {
  return [...new Set([...list.map((r) => r.productId), ...pinnedProducts(rules)])];
}

/** The list after the rules (see the file comment). `facts` must hold every product of `productsNeeded`. */
export function applyRules(
  list: readonly Recommendation[],
  rules: readonly ActiveRule[],
  facts: ReadonlyMap<number, ProductFacts>,
  first: number,
  now: Date,
): Recommendation[] {
  if (rules.length === 0) return list.slice(0, first);
  const filters = rules.filter((r) => r.action === 'filter');
  const weights = rules.filter((r) => r.action === 'boost' || r.action === 'bury');
  const pins = rules.filter((r) => r.action === 'pin' && r.productId != null && r.position != null).sort((a, b) => a.position! - b.position!);
  const filtered = (id: number) => {
    const p = facts.get(id);
    return p !== undefined && filters.some((f) => selects(f, p, now));
  };
  const pinnedIds = new Set(pins.map((p) => p.productId!));

  const rescored = list
    .map((r, index) => ({ r, index }))
    .filter(({ r }) => !filtered(r.productId) && !pinnedIds.has(r.productId))
    .map(({ r, index }) => {
      const p = facts.get(r.productId);
      if (!p || weights.length === 0) return { r, index };
      let factor = 1;
      let strongest: ActiveRule | undefined;
      for (const rule of weights) {
        if (!selects(rule, p, now)) continue;
        factor *= rule.factor ?? 1;
        if (rule.action === 'boost' && (!strongest || (rule.factor ?? 1) > (strongest.factor ?? 1))) strongest = rule;
      }
      if (factor === 1 && !strongest) return { r, index };
      const reason = strongest ? (strongest.newWithinDays != null ? 'new arrival' : 'promoted') : r.reason;
      return { r: { ...r, score: r.score * factor, reason }, index };
    })
    .sort((a, b) => b.r.score - a.r.score || a.index - b.index)
    .map(({ r }) => r);

  const result = rescored.slice(0, first);
  const inserted = new Set<number>();
  for (const pin of pins) {
    const p = facts.get(pin.productId!);
    if (!p?.isActive || p.stock <= 0 || p.inCart || filtered(p.productId) || inserted.has(p.productId)) continue;
    inserted.add(p.productId);
    const shown = list.find((r) => r.productId === p.productId);
    const entry: Recommendation = {
      ...(shown ?? {}),
      productId: p.productId,
      name: p.name,
      categoryId: p.categoryId,
      categoryName: p.categoryName,
      price: p.price,
      score: shown?.score ?? 0,
      reason: 'promoted',
      source: 'promoted',
    };
    result.splice(Math.min(pin.position! - 1, result.length), 0, entry);
  }
  return result.slice(0, first);
}
