import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { inWindow, type RuleAction } from '../../merchandising/apply.js';
import type { RuleRow } from '../../merchandising/rules.js';
import { print, printTable } from '../output.js';

/*
 * `rtrec rule create|list|delete`: the merchandising rules, through the same service as the admin mutations. A
 * running server follows a change made here within a second (its view of the rules), plus its list cache's TTL.
 */

export interface RuleCreateOptions {
  name: string;
  action: RuleAction;
  product?: number;
  category?: number;
  minPrice?: number;
  maxPrice?: number;
  minStock?: number;
  maxStock?: number;
  newWithinDays?: number;
  factor?: number;
  position?: number;
  starts?: Date;
  ends?: Date;
  json?: boolean;
}

async function withRules<T>(run: (ctx: Awaited<ReturnType<typeof createAppContext>>) => Promise<T>): Promise<T> {
  const ctx = await createAppContext(loadConfig(), { poolSize: 2 });
  try {
    return await run(ctx);
  } finally {
    await ctx.close();
  }
}

function selector(r: RuleRow): string {
  const parts: string[] = [];
  if (r.productId != null) parts.push(`product ${r.productId}`);
  if (r.categoryId != null) parts.push(`category ${r.categoryId}`);
  if (r.minPrice != null || r.maxPrice != null) parts.push(`price ${r.minPrice ?? ''}..${r.maxPrice ?? ''}`);
  if (r.minStock != null || r.maxStock != null) parts.push(`stock ${r.minStock ?? ''}..${r.maxStock ?? ''}`);
  if (r.newWithinDays != null) parts.push(`new in ${r.newWithinDays} d`);
  return parts.join(', ');
}

function printRules(rules: RuleRow[]): void {
  const now = new Date();
  printTable(
    rules.map((r) => ({
      id: r.ruleId,
      name: r.name,
      action: r.action,
      selects: selector(r),
      factor: r.factor ?? '',
      position: r.position ?? '',
      from: r.startsAt?.toISOString() ?? '',
      until: r.endsAt?.toISOString() ?? '',
      active: inWindow(r, now) ? 'yes' : 'no',
    })),
  );
}

export async function ruleCreate(o: RuleCreateOptions): Promise<void> {
  await withRules(async (ctx) => {
    const rule = await ctx.merchandising.create({
      name: o.name,
      action: o.action,
      productId: o.product,
      categoryId: o.category,
      minPrice: o.minPrice,
      maxPrice: o.maxPrice,
      minStock: o.minStock,
      maxStock: o.maxStock,
      newWithinDays: o.newWithinDays,
      factor: o.factor,
      position: o.position,
      startsAt: o.starts,
      endsAt: o.ends,
    });
    if (o.json) return print(JSON.stringify(rule));
    print(`Created rule ${rule.ruleId}:`);
    printRules([rule]);
  });
}

export async function ruleList(o: { json?: boolean }): Promise<void> {
  await withRules(async (ctx) => {
    const rules = await ctx.merchandising.list();
    if (o.json) return print(JSON.stringify(rules));
    printRules(rules);
  });
}

export async function ruleDelete(id: number, o: { json?: boolean }): Promise<void> {
  await withRules(async (ctx) => {
    const rule = await ctx.merchandising.delete(id);
    if (o.json) return print(JSON.stringify(rule));
    print(`Deleted rule ${rule.ruleId} (${rule.name}).`);
  });
}
