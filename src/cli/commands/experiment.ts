import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../../errors.js';
import type { ExperimentRow, VariantInput } from '../../experiments/experiments.js';
import type { VariantResult } from '../../experiments/results.js';
import { print, printTable } from '../output.js';

/*
 * `rtrec experiment create|start|stop|show`: the same service the admin mutations call. The CLI runs as the
 * operator of the database (no token): whoever can reach the database may run experiments.
 */

export interface CreateOptions {
  name: string;
  placement?: string;
  variant: { name: string; recommender: string; weight: number }[];
  params?: Record<string, unknown>;
  json?: boolean;
}

function printExperiment(e: ExperimentRow, results: VariantResult[]): void {
  print(`Experiment ${e.experimentId} "${e.name}" on ${e.placement}: ${e.status}`);
  const when = [`created ${e.createdAt.toISOString()}`];
  if (e.startedAt) when.push(`started ${e.startedAt.toISOString()}`);
  if (e.stoppedAt) when.push(`stopped ${e.stoppedAt.toISOString()}`);
  print(when.join(', '));
  printTable(
    results.map((v) => ({
      variant: `${v.name}${v.position === 0 ? ' (control)' : ''}`,
      id: v.variantId,
      recommender: v.recommender,
      weight: v.weight,
      impressions: v.impressions,
      clicks: v.clicks,
      ctr: `${(v.ctr * 100).toFixed(2)}%`,
      'add-to-cart': v.carts,
      purchases: v.purchases,
      conversion: `${(v.conversionRate * 100).toFixed(2)}%`,
      'revenue/1000': v.revenuePerMille.toFixed(2),
      'P(beats control)': v.probabilityToBeatControl === null ? '' : `${(v.probabilityToBeatControl * 100).toFixed(1)}%${v.winner ? ' winner' : ''}`,
    })),
  );
}

async function withExperiments<T>(run: (ctx: Awaited<ReturnType<typeof createAppContext>>) => Promise<T>): Promise<T> {
  const ctx = await createAppContext(loadConfig(), { poolSize: 2 });
  try {
    return await run(ctx);
  } finally {
    await ctx.close();
  }
}

async function show(ctx: Awaited<ReturnType<typeof createAppContext>>, e: ExperimentRow, json?: boolean): Promise<void> {
  const results = await ctx.experiments.results(e);
  if (json) return print(JSON.stringify({ ...e, variants: results }));
  printExperiment(e, results);
}

export async function experimentCreate(options: CreateOptions): Promise<void> {
  const variants: VariantInput[] = options.variant.map((v) => ({ ...v, params: options.params?.[v.name] }));
  const unknown = Object.keys(options.params ?? {}).filter((name) => !variants.some((v) => v.name === name));
  if (unknown.length) throw new AppError('BAD_USER_INPUT', `--params names ${unknown.join(', ')}, which no --variant defines.`);
  await withExperiments(async (ctx) => {
    const e = await ctx.experiments.create({ name: options.name, placement: options.placement, variants });
    if (!options.json) print(`Created experiment ${e.experimentId} (draft): start it with \`rtrec experiment start ${e.experimentId}\`.`);
    await show(ctx, e, options.json);
  });
}

export async function experimentStart(id: number, options: { json?: boolean }): Promise<void> {
  await withExperiments(async (ctx) => show(ctx, await ctx.experiments.start(id), options.json));
}

export async function experimentStop(id: number, options: { json?: boolean }): Promise<void> {
  await withExperiments(async (ctx) => show(ctx, await ctx.experiments.stop(id), options.json));
}

export async function experimentShow(id: number | undefined, options: { json?: boolean }): Promise<void> {
  await withExperiments(async (ctx) => {
    if (id !== undefined) return show(ctx, await ctx.experiments.get(id), options.json);
    const all = await ctx.experiments.list();
    if (options.json) return print(JSON.stringify(all));
    printTable(
      all.map((e) => ({
        id: e.experimentId,
        name: e.name,
        placement: e.placement,
        status: e.status,
        variants: e.variants.map((v) => `${v.name}:${v.recommender}:${v.weight}`).join(' '),
        started: e.startedAt?.toISOString() ?? '',
      })),
    );
  });
}
