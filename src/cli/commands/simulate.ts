import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import type { SimulatedRecommender } from '../../simulator/options.js';
import { type SimulationParams, type SimulationSummary, startSimulation } from '../../simulator/runs.js';
import { formatUptake, type RunStats, uptakeLine } from '../../simulator/stats.js';
import { print, printReset, printTable, progressBar } from '../output.js';

export interface SimulateCliOptions {
  sessions: number;
  duration: number;
  speed: number;
  concurrency: number;
  seed?: number;
  historical?: number;
  sessionsPerDay: number;
  until?: Date;
  recommendations: number;
  recommender: SimulatedRecommender;
  clear?: boolean;
  json?: boolean;
}

/** The progress bar's info: events so far and, while recommendations are shown, the click-through rate. */
export function progressInfo(stats: RunStats): string {
  const uptake = stats.uptake('');
  return uptake.impressions ? `${stats.events} events | ${formatUptake(uptake)}` : `${stats.events} events`;
}

export function printSummary(summary: SimulationSummary): void {
  print(`\nSimulation ${summary.runId} (${summary.mode}): ${summary.sessions} sessions`);
  print('\nRows written by table:');
  printTable(
    Object.entries(summary.rowsByTable)
      .filter(([, n]) => n !== 0)
      .map(([table, rows]) => ({ table, rows })),
  );
  print('\nBehaviour events by type (attempted → recorded; recommendation events and the product views of clicks are not drawn by the weights):');
  const types = [...new Set([...Object.keys(summary.attemptedByType), ...Object.keys(summary.eventsByType)])].sort();
  printTable(types.map((type) => ({ type, attempted: summary.attemptedByType[type] ?? '', recorded: summary.eventsByType[type] ?? 0 })));
  if (Object.keys(summary.skipped).length) {
    print('\nSkipped attempts:');
    printTable(Object.entries(summary.skipped).map(([reason, count]) => ({ reason, count })));
  }
  print(`\nOrders: ${summary.ordersPaid} paid, ${summary.ordersFailed} with a declined payment`);
  const accounts = summary.accountChanges;
  if (Object.keys(accounts).length > 0)
    print(
      `Accounts: ${accounts.sign_up ?? 0} signed up, ${accounts.address_changed ?? 0} moved house, ${accounts.phone_changed ?? 0} changed their phone number`,
    );
  const recs = summary.recommendations;
  if (recs) {
    if (recs.lists > 0) print(uptakeLine(recs));
    if (recs.emptyLists > 0) {
      const why = recs.recommender === 'ours' ? 'the feature tables the Flink job maintains are empty (rtrec jobs deploy --all)' : 'no active product in stock';
      print(`Recommendations (${recs.recommender}): ${recs.emptyLists} of ${summary.sessions} sessions got none: ${why}.`);
    }
  }
  print(`Elapsed ${(summary.elapsedMs / 1000).toFixed(2)} s, ${Math.round(summary.rowsPerSecond)} rows/s`);
}

export async function simulate(options: SimulateCliOptions): Promise<void> {
  // The back-fill is a batch job of the owner (it may skip the foreign-key triggers of the ids it reserves).
  const ctx = await createAppContext(loadConfig(), { role: options.historical !== undefined ? 'owner' : 'api' });
  try {
    if (options.clear) {
      return printReset(await ctx.resetShopData('activity'), options.json, 'Deleted simulated activity (catalogue and customers kept):');
    }
    const params: SimulationParams = {
      sessions: options.sessions,
      durationMinutes: options.duration,
      speed: options.speed,
      concurrency: options.concurrency,
      seed: options.seed,
      historicalDays: options.historical,
      sessionsPerDay: options.sessionsPerDay,
      until: options.until,
      recommendations: options.recommendations,
      recommender: options.recommender,
    };
    const total = options.historical ?? options.sessions;
    const bar = progressBar(options.historical ? 'back-fill' : 'simulate', total);
    const started = await startSimulation(
      { db: ctx.db, pool: ctx.pool, storefront: ctx.storefront, logger: ctx.logger, recommender: ctx.recommender, experiments: ctx.experiments },
      params,
      (fraction, stats) => bar.update(Math.round(fraction * total), options.historical ? 'days' : 'sessions', progressInfo(stats)),
    );
    const stop = () => started.cancel();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const summary = await started.done;
      bar.stop();
      if (options.json) print(JSON.stringify(summary));
      else printSummary(summary);
    } finally {
      bar.stop();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  } finally {
    await ctx.close();
  }
}
