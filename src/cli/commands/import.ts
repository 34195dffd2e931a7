import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../../errors.js';
import { importEvaluationLog } from '../../importer/evaluation-log.js';
import { type ImportSummary, importLog } from '../../importer/import-log.js';
import { parseColumnMapping, parseTypeMapping } from '../../importer/mapping.js';
import { checkSource, sourceOfFile } from '../../importer/placeholders.js';
import { print, printTable, progressBar } from '../output.js';

export interface ImportEventsCliOptions {
  csv: string;
  map: string;
  types?: string;
  source?: string;
  replay?: boolean;
  speed?: number;
  writers?: number;
  batchMs?: number;
  evaluationOnly?: boolean;
  replace?: boolean;
  json?: boolean;
}

const badFlag = (message: string) => new AppError('BAD_USER_INPUT', message);

function printSummary(s: ImportSummary): void {
  const stopped = s.stopped ? ` — stopped after ${s.actions.written} of ${s.actions.total} actions; run the same command again to continue` : '';
  print(
    `Imported ${s.file} as source "${s.source}" (${s.mode}): ${s.rows.new} new rows, ${s.rows.known} already imported` +
      `${s.rows.skipped ? `, ${s.rows.skipped} skipped by --types` : ''}${stopped}.`,
  );
  print('\nRows written by table:');
  printTable(Object.entries(s.rowsByTable).map(([table, rows]) => ({ table, rows })));
  print('\nBehaviour events by type:');
  printTable(Object.entries(s.eventsByType).map(([type, events]) => ({ type, events })));
  print(`\nElapsed ${(s.elapsedMs / 1000).toFixed(2)} s, ${Math.round(s.rowsPerSecond)} rows/s. Evaluate it with: npx rtrec evaluate`);
}

async function evaluationOnly(options: ImportEventsCliOptions): Promise<void> {
  const mapping = parseColumnMapping(options.map);
  const types = parseTypeMapping(options.types);
  const ctx = await createAppContext(loadConfig());
  const kb = (bytes: number) => Math.ceil(bytes / 1024);
  let bar: ReturnType<typeof progressBar> | undefined;
  try {
    const result = await importEvaluationLog(ctx.pool, { file: options.csv, mapping, types, replace: options.replace ?? false }, (bytes, total) => {
      bar ??= progressBar('import', kb(total));
      bar.update(kb(bytes), 'kB');
    });
    bar?.stop();
    if (options.json) return print(JSON.stringify(result));
    print(
      `Imported ${result.rows} events from ${result.file}${result.skipped ? ` (${result.skipped} skipped by --types)` : ''}` +
        `${options.replace ? `, replacing ${result.replaced}` : ''}; imported_events now holds ${result.totalImported}.`,
    );
    printTable(Object.entries(result.byType).map(([type, events]) => ({ type, events })));
    print(`\nElapsed ${(result.elapsedMs / 1000).toFixed(2)} s. Evaluate it with: npx rtrec evaluate --source imported`);
  } finally {
    bar?.stop();
    await ctx.close();
  }
}

/** `rtrec import events`: a CSV log becomes shop history (bulk or replay), or evaluation-only rows. */
export async function importEvents(options: ImportEventsCliOptions): Promise<void> {
  // Option mistakes are reported before the database is touched.
  if (options.replace && !options.evaluationOnly)
    throw badFlag('--replace only applies with --evaluation-only (imported_events); shop imports add only new rows, so there is nothing to replace.');
  if (options.evaluationOnly && (options.replay || options.source !== undefined))
    throw badFlag('--evaluation-only loads imported_events in bulk; drop --replay/--source, or drop --evaluation-only to import into the shop.');
  if (options.speed !== undefined && !options.replay) throw badFlag('--speed sets the pace of --replay; add --replay, or drop --speed for a bulk import.');
  if (options.batchMs !== undefined && !options.replay)
    throw badFlag('--batch-ms batches the actions of --replay; add --replay, or drop --batch-ms for a bulk import.');
  if (options.batchMs !== undefined && options.writers !== undefined)
    throw badFlag('--writers sets concurrent storefront transactions and --batch-ms writes batches instead: choose one.');
  if (options.writers !== undefined && !options.replay)
    throw badFlag('--writers sets how many storefront transactions --replay keeps in flight; add --replay, or drop --writers for a bulk import.');
  if (options.evaluationOnly) return evaluationOnly(options);

  const mapping = parseColumnMapping(options.map);
  const types = parseTypeMapping(options.types);
  const source = checkSource(options.source ?? sourceOfFile(options.csv));
  // A bulk import is a batch job of the owner (it may skip the foreign-key triggers of the ids it reserves);
  // a replay writes through the storefront like the API.
  const ctx = await createAppContext(loadConfig(), { role: options.replay ? 'api' : 'owner' });
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let bar: ReturnType<typeof progressBar> | undefined;
  let phase = '';
  try {
    const replay = options.replay ? { speed: options.speed ?? 1, writers: options.writers, batchMs: options.batchMs, signal: abort.signal } : undefined;
    const summary = await importLog({ pool: ctx.pool, db: ctx.db, logger: ctx.logger }, { file: options.csv, mapping, types, source, replay }, (p) => {
      if (p.phase !== phase) {
        bar?.stop();
        phase = p.phase;
        bar = progressBar(p.phase === 'read' ? 'read  ' : p.phase === 'write' ? 'write ' : 'replay', p.phase === 'read' ? Math.ceil(p.total / 1024) : p.total);
      }
      bar!.update(p.phase === 'read' ? Math.ceil(p.done / 1024) : p.done, p.phase === 'read' ? 'kB' : 'actions');
    });
    bar?.stop();
    if (options.json) print(JSON.stringify(summary));
    else printSummary(summary);
  } finally {
    bar?.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await ctx.close();
  }
}
