/**
 * `rtrec train` end to end on a shop database (not a timed test): the features Flink would hold now are put
 * into the live rec_* tables (features-sql.ts, no Flink needed), then the training runs as the command does —
 * item-kNN neighbours from rec_customer_product, then the ranker's weights on a validation split (features
 * rebuilt as of each validation moment, serving's candidates read through the served query, coordinate
 * ascent). Prints the time of each part and the peak RSS of this process.
 *
 *   RTREC_DATA_DIR=… EMBEDDED_PG_PORT=… npx tsx bench/train.ts [--max-customers 3000] [--protocol time|leave-last-out|session]
 */
import { parseArgs } from 'node:util';
import { createAppContext } from '../src/app/context.js';
import { loadConfig } from '../src/config/env.js';
import { replaceFeaturesAsOf } from '../src/recommend/features-sql.js';
import { trainServed, validationProtocol } from '../src/recommend/train.js';

const { values } = parseArgs({ options: { 'max-customers': { type: 'string', default: '3000' }, protocol: { type: 'string', default: 'time' } } });
const maxCustomers = Number(values['max-customers']);
if (!Number.isInteger(maxCustomers) || maxCustomers < 10) throw new Error('--max-customers must be a whole number ≥ 10');
if (!['time', 'leave-last-out', 'session'].includes(values.protocol!)) throw new Error('--protocol must be time, leave-last-out or session');

const ctx = await createAppContext(loadConfig({ ...process.env, LOG_LEVEL: 'warn' }), { poolSize: 6 });
try {
  const { rows } = await ctx.pool.query<{ events: string; lines: string }>(
    'SELECT (SELECT count(*) FROM behavior_events)::text AS events, (SELECT count(*) FROM order_items)::text AS lines',
  );
  const t0 = performance.now();
  await replaceFeaturesAsOf(ctx.pool, new Date());
  const featuresS = (performance.now() - t0) / 1000;
  const { rows: cp } = await ctx.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM rec_customer_product');
  const protocol = validationProtocol(values.protocol as 'time' | 'leave-last-out' | 'session');
  const t1 = performance.now();
  const report = await trainServed(ctx.pool, ctx.recommenderOn, { maxCustomers, protocol });
  const trainS = (performance.now() - t1) / 1000;
  const r = report.ranker;
  process.stdout.write(
    `${JSON.stringify({
      history: { behaviorEvents: Number(rows[0]!.events), orderLines: Number(rows[0]!.lines), customerProducts: Number(cp[0]!.n) },
      featuresSeconds: Number(featuresS.toFixed(1)),
      trainSeconds: Number(trainS.toFixed(1)),
      neighbours: report.neighbours,
      ranker: {
        cases: r.cases,
        candidatesPerCase: Math.round(r.candidatesPerCase),
        evaluations: r.evaluations,
        seconds: r.seconds,
        fitted: r.fitted,
        defaults: r.defaults,
        weights: r.ranker,
      },
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
} finally {
  await ctx.close();
}
