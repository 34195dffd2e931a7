import { createAppContext } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../../errors.js';
import { type EvaluateOptions, type EvaluationReport, evaluate as runEvaluation } from '../../recommend/evaluation/evaluate.js';
import { print, printTable, progressBar } from '../output.js';

export interface EvaluateCliOptions extends EvaluateOptions {
  json?: boolean;
  sessionGap?: number;
  knnShrink?: number;
  knnNeighbours?: number;
  easeLambda?: number;
  easeItems?: number;
  easeBackend?: 'numpy' | 'js';
  ialsFactors?: number;
  ialsIterations?: number;
  ialsAlpha?: number;
  ialsReg?: number;
}

const metric = (x: number) => x.toFixed(4);

/** The flags that were given (an unset flag must not override a model's default with undefined). */
const given = <T extends Record<string, number | string | undefined>>(options: T): Partial<T> =>
  Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;

export function printReport(report: EvaluationReport): void {
  const split =
    report.split === 'time'
      ? `time split at ${report.cutoff} (last 20% of the span unless --cutoff)`
      : report.split === 'session'
        ? "session (each user's last action when it continues a visit and is new to them)"
        : 'leave-last-out';
  print(`History (${report.source}): ${report.history.events} events by ${report.history.users} users, ${report.history.from} … ${report.history.to}`);
  print(
    `Split: ${split}; ${report.trainEvents} train events; ${report.usersInBothParts} users on both sides, ${report.testUsers} with held-out items` +
      `${report.evaluatedUsers < report.testUsers ? `, ${report.evaluatedUsers} sampled` : ''}; ${report.heldOutItems} held-out items; catalogue ${report.catalogueSize} items\n`,
  );
  printTable(
    report.rows.map((r) => ({
      recommender: r.recommender,
      [`HR@${report.k}`]: metric(r.hitRate),
      [`NDCG@${report.k}`]: metric(r.ndcg),
      [`Recall@${report.recallK}`]: metric(r.recall),
      coverage: metric(r.coverage),
    })),
    ['recommender', `HR@${report.k}`, `NDCG@${report.k}`, `Recall@${report.recallK}`, 'coverage'],
  );
  for (const u of report.unavailable) print(`${u.recommender}: ${u.reason}`);
  for (const r of report.rows.filter((row) => row.ranker)) {
    const { weights, validation } = r.ranker!;
    const w = Object.entries(weights.weights)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    print(
      `\n${r.recommender}: ranker fitted on ${validation.cases} validation customers of the train part (HR@10 ${metric(validation.fitted.hr)} vs ${metric(validation.defaults.hr)} with the defaults): ${w}; one category ≤ ${weights.maxCategoryShare} of a list`,
    );
  }
  print(`\nElapsed ${(report.elapsedMs / 1000).toFixed(2)} s (${report.rows.map((r) => `${r.recommender} ${(r.elapsedMs / 1000).toFixed(2)} s`).join(', ')})`);
}

export async function evaluate(options: EvaluateCliOptions): Promise<void> {
  if (options.sessionGap !== undefined && options.split !== 'session')
    throw new AppError('BAD_USER_INPUT', '--session-gap applies to the session split only: drop it, or use --split session.');
  if (options.cutoff && options.split !== 'time')
    throw new AppError('BAD_USER_INPUT', '--cutoff applies to the time split only: drop it, or use --split time.');
  // Evaluations build as-of copies of the features in scratch schemas: DDL, so the owner's role.
  const ctx = await createAppContext(loadConfig(), { role: 'owner' });
  try {
    const report = await runEvaluation(
      {
        db: ctx.db,
        pool: ctx.pool,
        recommenders: ctx.evaluationRecommenders,
        servedOn: ctx.recommenderOn,
        startStep: (label, total, unit) => {
          const bar = progressBar(label, total);
          return { update: (done) => bar.update(done, unit), stop: () => bar.stop() };
        },
      },
      {
        source: options.source,
        split: options.split,
        cutoff: options.cutoff,
        sessionGapMinutes: options.sessionGap,
        k: options.k,
        recallK: options.recallK,
        seed: options.seed,
        maxUsers: options.maxUsers,
        recommenders: options.recommenders,
        models: {
          knn: given({ shrink: options.knnShrink, neighbours: options.knnNeighbours }),
          ease: given({ lambda: options.easeLambda, items: options.easeItems, backend: options.easeBackend }),
          ials: given({ factors: options.ialsFactors, iterations: options.ialsIterations, alpha: options.ialsAlpha, regularization: options.ialsReg }),
        },
      },
    );
    if (options.json) print(JSON.stringify(report));
    else printReport(report);
  } finally {
    await ctx.close();
  }
}
