import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../../errors.js';
import { trainServed, validationProtocol } from '../../recommend/train.js';
import { print, printTable, progressBar } from '../output.js';

export interface TrainCliOptions {
  maxCustomers: number;
  protocol: 'time' | 'leave-last-out' | 'session';
  sessionGap?: number;
  easeBackend?: 'numpy' | 'js';
  dryRun?: boolean;
  json?: boolean;
}

const metric = (x: number) => x.toFixed(4);

/** `rtrec train`: fits the learned neighbours and the served ranker's weights on the shop's history; serving reads them. */
export async function train(options: TrainCliOptions): Promise<void> {
  if (options.sessionGap !== undefined && options.protocol !== 'session')
    throw new AppError('BAD_USER_INPUT', '--session-gap applies to --protocol session only: drop it, or add --protocol session.');
  // Training builds as-of features in scratch schemas (DDL) and writes the model tables: the owner's role.
  const ctx = await createAppContext(loadConfig(), { poolSize: 6, role: 'owner' });
  try {
    const { rowCount } = await ctx.pool.query('SELECT 1 FROM rec_customer_product LIMIT 1');
    if (rowCount === 0)
      throw new AppError(
        'BAD_USER_INPUT',
        'Nothing to train on: rec_customer_product is empty. Deploy the Flink jobs (`npx rtrec jobs deploy --all`) and let them read the history, or import a log with `npx rtrec import events`.',
      );
    let bar: ReturnType<typeof progressBar> | undefined;
    const report = await trainServed(ctx.pool, ctx.recommenderOn, {
      maxCustomers: options.maxCustomers,
      protocol: validationProtocol(options.protocol, options.sessionGap),
      dryRun: options.dryRun,
      neighbours: { easeBackend: options.easeBackend, log: options.json ? undefined : (message) => print(message) },
      onProgress: options.json
        ? undefined
        : (done, total) => {
            bar ??= progressBar('validation candidates', total);
            if (done % 25 === 0 || done === total) bar.update(done, 'customers');
            if (done === total) {
              bar.stop();
              bar = undefined;
            }
          },
    });
    if (options.json) return print(JSON.stringify(report));
    const { neighbours: n, ranker: r } = report;
    print(
      `Learned neighbours (item-kNN, shrunk cosine): ${n.rows} rows for ${n.products} products from ${n.interactions} customer × product interactions of ${n.customers} customers, ${n.seconds.toFixed(1)} s`,
    );
    print(`Learned EASE weights: ${n.ease.rows} rows over the ${n.ease.items} most popular products (${n.ease.backend}, ${n.ease.seconds.toFixed(1)} s)`);
    print(
      `Ranker: ${r.cases} validation cases (${options.protocol}), ${r.candidatesPerCase.toFixed(0)} candidates each, ${r.evaluations} weight sets tried, ${r.seconds.toFixed(1)} s`,
    );
    printTable(
      [
        { weights: 'fitted', 'HR@10': metric(r.fitted.hr), 'NDCG@10': metric(r.fitted.ndcg) },
        { weights: 'defaults', 'HR@10': metric(r.defaults.hr), 'NDCG@10': metric(r.defaults.ndcg) },
      ],
      ['weights', 'HR@10', 'NDCG@10'],
    );
    print(
      `Weights: ${Object.entries(r.ranker.weights)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; one category ≤ ${r.ranker.maxCategoryShare} of a list`,
    );
    if (!r.trained) print(`Too few validation cases (${r.cases}): the defaults stand; nothing stored.`);
    else if (options.dryRun) print('Dry run: nothing stored.');
    else print('Stored in rec_ranker and rec_model_neighbours: the API serves them within 30 s.');
  } finally {
    await ctx.close();
  }
}
