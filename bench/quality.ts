/**
 * Offline quality of the CF models and the hybrid on a shared log, next to the reference figures of
 * shared/datasets/README.md. Reads the CSV directly (no database). Run with --help.
 */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { mostPopular } from '../src/recommend/evaluation/baselines.js';
import { type RankedCase, scoreCases } from '../src/recommend/evaluation/metrics.js';
import type { Recommender } from '../src/recommend/evaluation/recommender.js';
import { easeRecommender, easeScorer, fitEase } from '../src/recommend/models/ease.js';
import { type HybridWeights, hybridRecommender } from '../src/recommend/models/hybrid.js';
import { fitIals, ialsRecommender, ialsScorer } from '../src/recommend/models/ials.js';
import { fitItemKnn, itemKnnRecommender, knnScorer } from '../src/recommend/models/item-knn.js';
import { buildInteractionMatrix } from '../src/recommend/models/matrix.js';
import { scoringRecommender, type UserScorer } from '../src/recommend/models/rank.js';
import { buildProtocol, PROTOCOLS, type Protocol, readLog, recencyPopularity } from './quality/protocols.js';

const MODELS = ['most-popular', 'item-knn', 'ease', 'ials', 'hybrid'] as const;
type Model = (typeof MODELS)[number];

/** HR@10 / NDCG@10 of the README's table (reference protocol only). */
const REFERENCE: Record<string, Partial<Record<Model, [number, number]>>> = {
  'completejourney-sample.csv': { 'most-popular': [0.0549, 0.0265], 'item-knn': [0.0484, 0.0237], ease: [0.046, 0.022], ials: [0.0258, 0.0109] },
  'taobao-userbehavior-slice.csv': { 'most-popular': [0.0023, 0.0013], 'item-knn': [0.0022, 0.0012], ials: [0.001, 0.0006] },
};

const HELP = `Usage: npx tsx bench/quality.ts --data <csv> [options]

  --data <csv>            a shared log (user,item,type,ts[,category,...])
  --protocol <p>          reference (default) | ours-leave-last-out | ours-time | session | ours (both ours-*)
  --models <list>         comma-separated: ${MODELS.join(', ')} (default: all)
  --knn-shrink <n>        item-kNN shrinkage (default 200)      --knn-k <n>      neighbours per item (200)
  --ease-lambda <n>       EASE λ (500)                          --ease-items <n> most popular items modelled (2000)
  --ials-factors <n>      iALS factors (64)  --ials-reg <n> (0.05)  --ials-alpha <n> (10)  --ials-iters <n> (15)
  --hybrid <pop,cat,cf>   hybrid weights (default 1,0.25,0)      --hybrid-cf <m>  item-knn | ease | ials (item-knn)
  --half-life <days>      recency half-life of the hybrid's popularity (default: none, plain counts)
  --max-users <n>         evaluate only the first n test users (by id)
  --json                  print one JSON document instead of the table
  --help                  this text`;

const positive = z.coerce.number().positive();
const FlagsSchema = z.object({
  data: z.string({ error: '--data <csv> is required' }),
  protocol: z.enum([...PROTOCOLS, 'ours']).default('reference'),
  models: z
    .string()
    .default(MODELS.join(','))
    .transform((s, ctx) => {
      const list = s
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean);
      for (const m of list)
        if (!(MODELS as readonly string[]).includes(m)) ctx.addIssue({ code: 'custom', message: `unknown model "${m}" (known: ${MODELS.join(', ')})` });
      return list as Model[];
    }),
  'knn-shrink': z.coerce.number().min(0).default(200),
  'knn-k': positive.int().default(200),
  'ease-lambda': positive.default(500),
  'ease-items': positive.int().default(2000),
  'ials-factors': positive.int().default(64),
  'ials-reg': z.coerce.number().min(0).default(0.05),
  'ials-alpha': positive.default(10),
  'ials-iters': positive.int().default(15),
  hybrid: z
    .string()
    .default('1,0.25,0')
    .transform((s, ctx) => {
      const w = s.split(',').map(Number);
      if (w.length !== 3 || w.some((x) => !Number.isFinite(x))) ctx.addIssue({ code: 'custom', message: 'three numbers pop,cat,cf, e.g. --hybrid 1,1,0.5' });
      return { popularity: w[0]!, category: w[1]!, cf: w[2]! } satisfies HybridWeights;
    }),
  'hybrid-cf': z.enum(['item-knn', 'ease', 'ials']).default('item-knn'),
  'half-life': positive.optional(),
  'max-users': positive.int().optional(),
  json: z.boolean().default(false),
});
type Flags = z.infer<typeof FlagsSchema>;

interface Row {
  protocol: string;
  model: string;
  hitRate: number;
  ndcg: number;
  recall: number;
  fitMs: number;
  evalMs: number;
  peakRssMiB: number;
  reference?: [number, number];
}

const peakRss = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function evaluateOne(p: Protocol, name: Model, flags: Flags, log: { categories: Map<number, number> }, tests: Protocol['tests']): Promise<Row> {
  const started = performance.now();
  const matrix = buildInteractionMatrix(p.train, { values: p.name.startsWith('ours') ? 'weight' : 'binary', precision: 64 });
  const fitCf = (which: 'item-knn' | 'ease' | 'ials'): { rec: Recommender; score: UserScorer } => {
    if (which === 'item-knn') {
      const model = fitItemKnn(matrix, { shrink: flags['knn-shrink'], neighbours: flags['knn-k'] });
      return { rec: itemKnnRecommender(model, p.train, p.exclusion), score: knnScorer(model) };
    }
    if (which === 'ease') {
      const model = fitEase(matrix, { lambda: flags['ease-lambda'], items: flags['ease-items'] });
      return { rec: easeRecommender(model, p.train, p.exclusion), score: easeScorer(model) };
    }
    const model = fitIals(matrix, {
      factors: flags['ials-factors'],
      regularization: flags['ials-reg'],
      alpha: flags['ials-alpha'],
      iterations: flags['ials-iters'],
    });
    return { rec: ialsRecommender(model, p.train, p.exclusion), score: ialsScorer(model) };
  };
  let rec: Recommender;
  if (name === 'most-popular') {
    // The baselines' list excludes purchases only; the reference protocol excludes every train item.
    rec = p.exclusion === 'purchased' ? mostPopular(p.train) : scoringRecommender('most-popular', p.train, matrix, hybridScorerPopOnly(matrix), p.exclusion);
  } else if (name === 'hybrid') {
    const cf = flags.hybrid.cf !== 0 ? fitCf(flags['hybrid-cf']).score : undefined;
    const popularity = flags['half-life'] ? recencyPopularity(p.trainEvents, flags['half-life']) : undefined;
    rec = hybridRecommender({ matrix, categories: log.categories, popularity, cf }, p.train, flags.hybrid, p.exclusion);
  } else {
    rec = fitCf(name).rec;
  }
  const fitted = performance.now();
  const cases: RankedCase[] = [];
  for (const t of tests) cases.push({ recommended: await rec.recommend(t.user, 20, new Date(0)), heldOut: t.heldOut });
  const m = scoreCases(cases, { k: 10, recallK: 20 }, p.train.catalogue.length);
  return {
    protocol: p.name,
    model: name,
    hitRate: m.hitRate,
    ndcg: m.ndcg,
    recall: m.recall,
    fitMs: Math.round(fitted - started),
    evalMs: Math.round(performance.now() - fitted),
    peakRssMiB: peakRss(),
  };
}

/** Popularity by distinct users (the binary matrix's column sums), as the reference's most-popular counts. */
function hybridScorerPopOnly(matrix: ReturnType<typeof buildInteractionMatrix>): UserScorer {
  const n = matrix.itemIds.length;
  const pop = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let p = matrix.csc.indptr[i]!; p < matrix.csc.indptr[i + 1]!; p++) pop[i]! += matrix.csc.data[p]!;
  return () => pop;
}

const STRING_FLAGS = [
  'data',
  'protocol',
  'models',
  'knn-shrink',
  'knn-k',
  'ease-lambda',
  'ease-items',
  'ials-factors',
  'ials-reg',
  'ials-alpha',
  'ials-iters',
  'hybrid',
  'hybrid-cf',
  'half-life',
  'max-users',
];

const fmt = (x: number) => x.toFixed(4);

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...Object.fromEntries(STRING_FLAGS.map((k) => [k, { type: 'string' as const }])),
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const parsed = FlagsSchema.safeParse(values);
  if (!parsed.success) {
    process.stderr.write(`${parsed.error.issues.map((i) => `${i.path.length ? `--${i.path.join('.')}: ` : ''}${i.message}`).join('\n')}\n\n${HELP}\n`);
    return 2;
  }
  const flags = parsed.data;
  const t0 = performance.now();
  const log = await readLog(flags.data);
  const loadMs = Math.round(performance.now() - t0);
  const file = basename(flags.data);
  const protocols = flags.protocol === 'ours' ? (['ours-leave-last-out', 'ours-time'] as const) : [flags.protocol];
  const rows: Row[] = [];
  const summaries: { protocol: string; trainUsers: number; testUsers: number; items: number; trainEvents: number }[] = [];
  for (const name of protocols) {
    const p = buildProtocol(name, log.events);
    const tests = flags['max-users'] ? [...p.tests].sort((a, b) => a.user - b.user).slice(0, flags['max-users']) : p.tests;
    summaries.push({
      protocol: p.name,
      trainUsers: p.train.users.size,
      testUsers: tests.length,
      items: p.train.catalogue.length,
      trainEvents: p.trainEvents.length,
    });
    if (!flags.json)
      process.stdout.write(
        `\n${file} · protocol ${p.name} · ${tests.length} test users · ${p.train.users.size} train users · ${p.train.catalogue.length} items (CSV read in ${loadMs} ms)\n`,
      );
    if (!flags.json)
      process.stdout.write(
        `${'model'.padEnd(14)} ${'HR@10'.padStart(7)} ${'NDCG@10'.padStart(8)} ${'R@20'.padStart(7)}  ${'ref HR / NDCG'.padEnd(16)} ${'ratio HR'.padStart(8)} ${'fit s'.padStart(7)} ${'eval s'.padStart(7)} ${'peak MiB'.padStart(9)}\n`,
      );
    for (const model of flags.models) {
      const row = await evaluateOne(p, model, flags, log, tests);
      if (p.name === 'reference') row.reference = REFERENCE[file]?.[model];
      rows.push(row);
      if (!flags.json) {
        const ref = row.reference ? `${fmt(row.reference[0])} / ${fmt(row.reference[1])}` : '—';
        const ratio = row.reference ? (row.hitRate / row.reference[0]).toFixed(2) : '—';
        process.stdout.write(
          `${model.padEnd(14)} ${fmt(row.hitRate).padStart(7)} ${fmt(row.ndcg).padStart(8)} ${fmt(row.recall).padStart(7)}  ${ref.padEnd(16)} ${ratio.padStart(8)} ${(row.fitMs / 1000).toFixed(1).padStart(7)} ${(row.evalMs / 1000).toFixed(1).padStart(7)} ${String(row.peakRssMiB).padStart(9)}\n`,
        );
      }
    }
  }
  if (flags.json) process.stdout.write(`${JSON.stringify({ data: file, flags: { ...flags, models: flags.models }, protocols: summaries, rows }, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
