import { MerchandisingAction } from '../../generated/prisma/enums.js';
import type { RuleRow } from '../../merchandising/rules.js';
import { builder } from '../builder.js';

/*
 * Merchandising rules (src/merchandising): admins manage them; staff read them. Every served list goes through
 * the rules in force after scoring; a change re-serves the lists recommendationsUpdated subscribers watch.
 */

const ActionEnum = builder.enumType(MerchandisingAction, {
  name: 'MerchandisingAction',
  description: 'pin a product at a position; boost or bury selected products by a factor; filter a product or category out',
});

const RuleRef = builder.objectRef<RuleRow>('MerchandisingRule').implement({
  description: 'A rule applied to every served recommendation list after scoring (see README "Merchandising rules").',
  fields: (t) => ({
    id: t.exposeInt('ruleId'),
    name: t.exposeString('name'),
    action: t.field({ type: ActionEnum, resolve: (r) => r.action }),
    productId: t.exposeInt('productId', { nullable: true }),
    categoryId: t.exposeInt('categoryId', { nullable: true }),
    minPrice: t.exposeFloat('minPrice', { nullable: true }),
    maxPrice: t.exposeFloat('maxPrice', { nullable: true }),
    minStock: t.exposeInt('minStock', { nullable: true }),
    maxStock: t.exposeInt('maxStock', { nullable: true }),
    newWithinDays: t.exposeInt('newWithinDays', { nullable: true, description: 'Selects products created in the last N days' }),
    factor: t.exposeFloat('factor', { nullable: true, description: 'Score multiplier of boost (> 1) and bury (0–1)' }),
    position: t.exposeInt('position', { nullable: true, description: 'Where a pin puts its product (1 = first)' }),
    startsAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.startsAt }),
    endsAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.endsAt }),
    active: t.boolean({ description: 'In force now (within its time window)', resolve: (r) => isActive(r) }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (r) => r.updatedAt }),
  }),
});

const isActive = (r: RuleRow, now = Date.now()) => (!r.startsAt || r.startsAt.getTime() <= now) && (!r.endsAt || now < r.endsAt.getTime());

const RuleInput = builder.inputType('MerchandisingRuleInput', {
  description:
    'pin: productId + position. boost: a selector + factor > 1. bury: a selector + factor in (0, 1). filter: productId or categoryId. Selector: productId, categoryId, minPrice/maxPrice, minStock/maxStock, newWithinDays (all given must hold).',
  fields: (t) => ({
    name: t.string({ required: true }),
    action: t.field({ type: ActionEnum, required: true }),
    productId: t.int({ required: false }),
    categoryId: t.int({ required: false }),
    minPrice: t.float({ required: false }),
    maxPrice: t.float({ required: false }),
    minStock: t.int({ required: false }),
    maxStock: t.int({ required: false }),
    newWithinDays: t.int({ required: false }),
    factor: t.float({ required: false }),
    position: t.int({ required: false }),
    startsAt: t.field({ type: 'DateTime', required: false }),
    endsAt: t.field({ type: 'DateTime', required: false }),
  }),
});

builder.queryFields((t) => ({
  merchandisingRules: t.field({
    type: [RuleRef],
    description: 'Every merchandising rule, oldest first.',
    resolve: (_root, _args, ctx) => ctx.merchandising.list(),
  }),
}));

builder.mutationFields((t) => ({
  createMerchandisingRule: t.field({
    type: RuleRef,
    description: 'Adds a rule (admin); served lists follow it at once, and watched lists are pushed again.',
    args: { input: t.arg({ type: RuleInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.merchandising.create(input),
  }),
  updateMerchandisingRule: t.field({
    type: RuleRef,
    description: 'Replaces a rule’s definition (admin).',
    args: { id: t.arg.int({ required: true }), input: t.arg({ type: RuleInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => ctx.merchandising.update(id, input),
  }),
  deleteMerchandisingRule: t.field({
    type: RuleRef,
    description: 'Deletes a rule (admin) and returns it as it was.',
    args: { id: t.arg.int({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.merchandising.delete(id),
  }),
}));
