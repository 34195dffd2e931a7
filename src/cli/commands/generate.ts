import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { type GenerateOptions, generateData } from '../../datagen/generate.js';
import { print, printReset, printTable, progressBar } from '../output.js';

export async function generate(options: GenerateOptions & { clear?: boolean; json?: boolean }): Promise<void> {
  const ctx = await createAppContext(loadConfig());
  try {
    if (options.clear) {
      return printReset(await ctx.resetShopData('all'), options.json, 'Deleted all shop data:');
    }
    const bar = progressBar('generate', options.categories + options.products + options.customers);
    const phases: Record<string, number> = { categories: 0, products: options.categories, customers: options.categories + options.products };
    const result = await generateData(ctx.pool, options, (phase, done) => bar.update(phases[phase]! + done, 'rows', phase));
    bar.stop();
    if (options.json) return print(JSON.stringify(result));
    const rows = result.categories + result.products + result.customers;
    printTable([
      { table: 'categories', added: result.categories },
      { table: 'products', added: result.products },
      { table: 'customers', added: result.customers },
    ]);
    print(`\n${rows} rows in ${(result.elapsedMs / 1000).toFixed(2)} s (${Math.round(rows / (result.elapsedMs / 1000))} rows/s)`);
  } finally {
    await ctx.close();
  }
}
