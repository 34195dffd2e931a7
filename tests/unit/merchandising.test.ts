import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { type ActiveRule, applyRules, inWindow, type ProductFacts, selects } from '../../src/merchandising/apply.js';
import { type RuleInput, validateRule } from '../../src/merchandising/rules.js';
import type { Recommendation } from '../../src/recommend/serving.js';

const now = new Date('2026-12-07T12:00:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);

/** Products 1-8: category 1 for odd ids, 2 for even; price = id × 10; stock = id; product 7 is new (2 days old). */
const facts = new Map<number, ProductFacts>(
  Array.from({ length: 9 }, (_, i) => i + 1).map((id) => [
    id,
    {
      productId: id,
      name: `P${id}`,
      categoryId: id % 2 === 1 ? 1 : 2,
      categoryName: id % 2 === 1 ? 'Odd' : 'Even',
      price: (id * 10).toFixed(2),
      stock: id === 9 ? 0 : id,
      isActive: true,
      createdAt: id === 7 ? daysAgo(2) : daysAgo(100),
      inCart: false,
    },
  ]),
);
/** Scored 1..6 from 60 down to 10; 7 and 8 further down. */
const list: Recommendation[] = [1, 2, 3, 4, 5, 6, 7, 8].map((id, i) => ({
  productId: id,
  name: `P${id}`,
  categoryId: facts.get(id)!.categoryId,
  categoryName: facts.get(id)!.categoryName,
  price: facts.get(id)!.price,
  score: 80 - i * 10,
  reason: `reason ${id}`,
  source: 'similar',
}));
const ids = (l: Recommendation[]) => l.map((r) => r.productId);
let nextId = 1;
const rule = (r: Omit<ActiveRule, 'ruleId'>): ActiveRule => ({ ruleId: nextId++, ...r });

describe('merchandising rule semantics', () => {
  it('without rules, cuts the list to its length', () => {
    expect(ids(applyRules(list, [], facts, 4, now))).toEqual([1, 2, 3, 4]);
  });

  it('filters a product or a whole category out, and the next products move up', () => {
    expect(ids(applyRules(list, [rule({ action: 'filter', productId: 2 })], facts, 4, now))).toEqual([1, 3, 4, 5]);
    expect(ids(applyRules(list, [rule({ action: 'filter', categoryId: 1 })], facts, 4, now))).toEqual([2, 4, 6, 8]);
  });

  it('boosts by a factor, lifting a product from below the cut, with the reason "promoted"', () => {
    const out = applyRules(list, [rule({ action: 'boost', productId: 6, factor: 3 })], facts, 4, now);
    // 6 scored 30 → 90: first.
    expect(ids(out)).toEqual([6, 1, 2, 3]);
    expect(out[0]).toMatchObject({ score: 90, reason: 'promoted' });
    expect(out[1]!.reason).toBe('reason 1');
  });

  it('buries by a factor, and combines factors of several rules by multiplying them', () => {
    expect(ids(applyRules(list, [rule({ action: 'bury', categoryId: 1, factor: 0.1 })], facts, 4, now))).toEqual([2, 4, 6, 8]);
    const both = applyRules(list, [rule({ action: 'boost', categoryId: 2, factor: 2 }), rule({ action: 'bury', productId: 2, factor: 0.25 })], facts, 3, now);
    // 4: 50 × 2 = 100; 1: 80; 3: 60 and 6: 30 × 2 = 60 tie (3 was listed first); 2: 70 × 2 × 0.25 = 35
    expect(ids(both)).toEqual([4, 1, 3]);
  });

  it('selects by price range, stock range and "new in the last N days" (reason "new arrival")', () => {
    // Priced 50-70 and not filtered: 5 (40 → 400) and 7 (20 → 200).
    expect(
      ids(applyRules(list, [rule({ action: 'filter', categoryId: 2 }), rule({ action: 'boost', minPrice: 50, maxPrice: 70, factor: 10 })], facts, 3, now)),
    ).toEqual([5, 7, 1]);
    expect(ids(applyRules(list, [rule({ action: 'bury', maxStock: 3, factor: 0.01 })], facts, 3, now))).toEqual([4, 5, 6]);
    const fresh = applyRules(list, [rule({ action: 'boost', newWithinDays: 7, factor: 100 })], facts, 2, now);
    expect(fresh[0]).toMatchObject({ productId: 7, reason: 'new arrival' });
    expect(selects({ newWithinDays: 1 }, facts.get(7)!, now)).toBe(false);
    expect(selects({ categoryId: 1, minStock: 5 }, facts.get(3)!, now)).toBe(false);
    expect(selects({ categoryId: 1, minStock: 5 }, facts.get(5)!, now)).toBe(true);
  });

  it('pins a product at its position, even one the recommender did not list, keeping the length', () => {
    const pinned = applyRules(list, [rule({ action: 'pin', productId: 8, position: 2 })], facts, 4, now);
    expect(ids(pinned)).toEqual([1, 8, 2, 3]);
    expect(pinned[1]).toMatchObject({ reason: 'promoted', source: 'promoted', name: 'P8' });
    // A listed product moves to its pinned place instead of appearing twice.
    expect(ids(applyRules(list, [rule({ action: 'pin', productId: 3, position: 1 })], facts, 4, now))).toEqual([3, 1, 2, 4]);
    // A position past the end puts it last.
    expect(ids(applyRules(list.slice(0, 2), [rule({ action: 'pin', productId: 5, position: 9 })], facts, 4, now))).toEqual([1, 2, 5]);
  });

  it('does not pin a filtered, out-of-stock, inactive or carted product', () => {
    const out = (extra: Partial<ProductFacts>, rules: ActiveRule[] = []) => {
      const changed = new Map(facts);
      changed.set(8, { ...facts.get(8)!, ...extra });
      return ids(applyRules(list, [rule({ action: 'pin', productId: 8, position: 1 }), ...rules], changed, 3, now));
    };
    expect(out({})).toEqual([8, 1, 2]);
    expect(out({ stock: 0 })).toEqual([1, 2, 3]);
    expect(out({ isActive: false })).toEqual([1, 2, 3]);
    expect(out({ inCart: true })).toEqual([1, 2, 3]);
    expect(out({}, [rule({ action: 'filter', categoryId: 2 })])).toEqual([1, 3, 5]);
  });

  it('is in force within its window only: from its start (inclusive) until its end (exclusive)', () => {
    expect(inWindow({}, now)).toBe(true);
    expect(inWindow({ startsAt: now }, now)).toBe(true);
    expect(inWindow({ startsAt: new Date(now.getTime() + 1) }, now)).toBe(false);
    expect(inWindow({ endsAt: now }, now)).toBe(false);
    expect(inWindow({ startsAt: daysAgo(1), endsAt: new Date(now.getTime() + 1) }, now)).toBe(true);
  });
});

describe('merchandising rule definitions', () => {
  const fieldOf = (input: RuleInput) => {
    try {
      validateRule(input);
      return 'ok';
    } catch (error) {
      return error instanceof AppError ? `${error.code}:${error.details.field}` : String(error);
    }
  };

  it('accepts each kind of rule in its valid shape', () => {
    expect(fieldOf({ name: 'pin', action: 'pin', productId: 1, position: 1 })).toBe('ok');
    expect(fieldOf({ name: 'boost', action: 'boost', categoryId: 1, minPrice: 5, maxPrice: 10, factor: 2 })).toBe('ok');
    expect(fieldOf({ name: 'clearance', action: 'boost', maxStock: 3, factor: 1.5, startsAt: now, endsAt: daysAgo(-7) })).toBe('ok');
    expect(fieldOf({ name: 'bury', action: 'bury', newWithinDays: 30, factor: 0.5 })).toBe('ok');
    expect(fieldOf({ name: 'filter', action: 'filter', categoryId: 4 })).toBe('ok');
  });

  it('names the field of every mistake', () => {
    expect(fieldOf({ name: '', action: 'filter', productId: 1 })).toBe('BAD_USER_INPUT:name');
    expect(fieldOf({ name: 'x', action: 'pin', productId: 1 })).toBe('BAD_USER_INPUT:position');
    expect(fieldOf({ name: 'x', action: 'pin', productId: 1, position: 101 })).toBe('BAD_USER_INPUT:position');
    expect(fieldOf({ name: 'x', action: 'boost', categoryId: 1, factor: 0.5 })).toBe('BAD_USER_INPUT:factor');
    expect(fieldOf({ name: 'x', action: 'bury', categoryId: 1, factor: 2 })).toBe('BAD_USER_INPUT:factor');
    expect(fieldOf({ name: 'x', action: 'boost', factor: 2 })).toBe('BAD_USER_INPUT:productId');
    expect(fieldOf({ name: 'x', action: 'filter', productId: 1, categoryId: 2 })).toBe('BAD_USER_INPUT:productId');
    expect(fieldOf({ name: 'x', action: 'filter', minPrice: 3 })).toBe('BAD_USER_INPUT:productId');
    expect(fieldOf({ name: 'x', action: 'boost', minPrice: 10, maxPrice: 5, factor: 2 })).toBe('BAD_USER_INPUT:maxPrice');
    expect(fieldOf({ name: 'x', action: 'boost', minStock: 10, maxStock: 5, factor: 2 })).toBe('BAD_USER_INPUT:maxStock');
    expect(fieldOf({ name: 'x', action: 'boost', productId: 1, factor: 2, startsAt: now, endsAt: now })).toBe('BAD_USER_INPUT:endsAt');
    expect(fieldOf({ name: 'x', action: 'boost', productId: -1, factor: 2 })).toBe('BAD_USER_INPUT:productId');
    expect(fieldOf({ name: 'x', action: 'boost', productId: 1, factor: 2, position: 1 })).toBe('BAD_USER_INPUT:position');
    expect(fieldOf({ name: 'x', action: 'explode' as 'pin', productId: 1 })).toBe('BAD_USER_INPUT:action');
  });
});
