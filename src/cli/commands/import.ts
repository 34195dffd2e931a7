import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { importEvents as runImport, parseColumnMapping, parseTypeMapping } from '../../recommend/evaluation/import-events.js';
import { print, printTable, progressBar } from '../output.js';

export interface ImportEventsCliOptions {
  csv: string;
  map: string;
  types?: string;
  replace?: boolean;
  json?: boolean;
}

export async function importEvents(options: ImportEventsCliOptions): Promise<void> {
  // Option mistakes are reported before the database is touched.
  const mapping = parseColumnMapping(options.map);
  const types = parseTypeMapping(options.types);
  const ctx = await createAppContext(loadConfig());
  const kb = (bytes: number) => Math.ceil(bytes / 1024);
  let bar: ReturnType<typeof progressBar> | undefined;
  try {
    const result = await runImport(ctx.pool, { file: options.csv, mapping, types, replace: options.replace ?? false }, (bytes, total) => {
      bar ??= progressBar('import', kb(total));
      bar.update(kb(bytes), 'kB');
    });
    bar?.stop();
    if (options.json) return print(JSON.stringify(result));
    print(`Imported ${result.rows} events from ${result.file}${result.skipped ? ` (${result.skipped} skipped by --types)` : ''}` +
      `${options.replace ? `, replacing ${result.replaced}` : ''}; imported_events now holds ${result.totalImported}.`);
    printTable(Object.entries(result.byType).map(([type, events]) => ({ type, events })));
    print(`\nElapsed ${(result.elapsedMs / 1000).toFixed(2)} s. Evaluate it with: npx rtrec evaluate --source imported`);
  } finally {
    bar?.stop();
    await ctx.close();
  }
}
