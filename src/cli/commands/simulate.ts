import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { clearData } from '../../datagen/generate.js';
import { type SimulationParams, type SimulationSummary, startSimulation } from '../../simulator/runs.js';
import { print, printDeleted, printTable, progressBar } from '../output.js';

export interface SimulateCliOptions {
  sessions: number;
  duration: number;
  speed: number;
  concurrency: number;
  seed?: number;
  historical?: number;
  sessionsPerDay: number;
  until?: Date;
  clear?: boolean;
  json?: boolean;
}

export function printSummary(summary: SimulationSummary): void {
  print(`\nSimulation ${summary.runId} (${summary.mode}): ${summary.sessions} sessions`);
  print('\nRows written by table:');
  printTable(Object.entries(summary.rowsByTable).filter(([, n]) => n !== 0).map(([table, rows]) => ({ table, rows })));
  print('\nBehaviour events by type (attempted → recorded):');
  printTable(Object.keys(summary.attemptedByType).sort().map((type) => ({ type, attempted: summary.attemptedByType[type] ?? 0, recorded: summary.eventsByType[type] ?? 0 })));
  if (Object.keys(summary.skipped).length) {
    print('\nSkipped attempts:');
    printTable(Object.entries(summary.skipped).map(([reason, count]) => ({ reason, count })));
  }
  print(`\nOrders: ${summary.ordersPaid} paid, ${summary.ordersFailed} with a declined payment`);
  print(`Elapsed ${(summary.elapsedMs / 1000).toFixed(2)} s, ${Math.round(summary.rowsPerSecond)} rows/s`);
}

export async function simulate(options: SimulateCliOptions): Promise<void> {
  const ctx = await createAppContext(loadConfig());
  try {
    if (options.clear) {
      return printDeleted(await clearData(ctx.pool, 'activity'), options.json, 'Deleted simulated activity (catalogue and customers kept):');
    }
    const params: SimulationParams = {
      sessions: options.sessions, durationMinutes: options.duration, speed: options.speed, concurrency: options.concurrency,
      seed: options.seed, historicalDays: options.historical, sessionsPerDay: options.sessionsPerDay, until: options.until,
    };
    const total = options.historical ?? options.sessions;
    const bar = progressBar(options.historical ? 'back-fill' : 'simulate', total);
    const started = await startSimulation({ db: ctx.db, pool: ctx.pool, storefront: ctx.storefront, logger: ctx.logger }, params, (fraction, stats) =>
      bar.update(Math.round(fraction * total), options.historical ? 'days' : 'sessions', `${stats.events} events`));
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
