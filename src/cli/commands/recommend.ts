import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../../errors.js';
import { print, printTable } from '../output.js';

/** `rtrec recommend --customer <id>`: what the API would recommend, with scores and reasons. */
export async function recommend(options: { customer: number; first: number; category?: number; json?: boolean }): Promise<void> {
  const ctx = await createAppContext(loadConfig(), { poolSize: 2 });
  const { pool } = ctx;
  try {
    const { rowCount } = await pool.query('SELECT 1 FROM customers WHERE customer_id = $1', [options.customer]);
    if (rowCount === 0)
      throw new AppError(
        'NOT_FOUND',
        `Customer ${options.customer} does not exist: pick one with \`psql "$(npx rtrec db url)" -c 'SELECT customer_id FROM customers LIMIT 5'\`.`,
      );
    // As the API serves it: the customer's variant while an experiment runs on home, then the merchandising rules.
    const served = await ctx.experiments.serve(options.customer, { first: options.first, categoryId: options.category });
    const list = served.items;
    if (options.json) return print(JSON.stringify({ customerId: options.customer, recommendations: list, ...(served.arm && { experiment: served.arm }) }));
    if (served.arm) print(`Experiment ${served.arm.experimentId}, variant ${served.arm.variant} (${served.arm.recommender}):`);
    if (list.length === 0) {
      print('(no recommendations: the feature tables are empty — deploy the Flink jobs with `npx rtrec jobs deploy --all`)');
      return;
    }
    printTable(
      list.map((r, i) => ({
        '#': i + 1,
        product: `${r.name} (${r.productId})`,
        category: r.categoryName,
        price: r.price,
        score: r.score.toFixed(4),
        reason: r.reason,
      })),
    );
  } finally {
    await ctx.close();
  }
}
