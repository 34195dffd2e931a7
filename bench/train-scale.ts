/**
 * Fit time and peak memory of one model on synthetic Zipf-like interactions (item popularity ∝ 1/rank,
 * user activity ∝ 1/rank^0.5). One model per process, so the peak RSS is that model's.
 * Usage: npx tsx bench/train-scale.ts --model item-knn|ease|ials --interactions 100000 [--items 20000] [--seed 1]
 */
import { parseArgs } from 'node:util';
import { createRng } from '../src/common/random.js';
import type { TrainData } from '../src/recommend/evaluation/recommender.js';
import type { UserHistory } from '../src/recommend/evaluation/split.js';
import { fitEase } from '../src/recommend/models/ease.js';
import { fitIals } from '../src/recommend/models/ials.js';
import { fitItemKnn } from '../src/recommend/models/item-knn.js';
import { buildInteractionMatrix } from '../src/recommend/models/matrix.js';

/** Cumulative weights 1/(rank+1)^s, for drawing ranks by binary search. */
function zipf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) cdf[r] = total += 1 / (r + 1) ** s;
  for (let r = 0; r < n; r++) cdf[r]! /= total;
  return cdf;
}

function draw(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function synthetic(interactions: number, items: number, seed: number): TrainData {
  const rng = createRng(seed);
  const users = Math.max(1, Math.round(interactions / 20));
  const itemCdf = zipf(items, 1);
  const userCdf = zipf(users, 0.5);
  const histories = new Map<number, UserHistory>();
  for (let n = 0; n < interactions; n++) {
    const user = draw(userCdf, rng.next());
    const item = draw(itemCdf, rng.next());
    let h = histories.get(user);
    if (!h) histories.set(user, (h = new Map()));
    const e = h.get(item);
    if (e) e.weight++;
    else h.set(item, { weight: 1, purchased: true });
  }
  return { users: histories, catalogue: Array.from({ length: items }, (_, i) => i) };
}

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    interactions: { type: 'string' },
    items: { type: 'string' },
    seed: { type: 'string' },
    'ease-items': { type: 'string' },
  },
  strict: true,
});
const model = values.model;
const interactions = Number(values.interactions);
const items = Number(values.items ?? 20000);
if (!['item-knn', 'ease', 'ials'].includes(model ?? '') || !Number.isInteger(interactions) || interactions < 1 || !Number.isInteger(items) || items < 1) {
  process.stderr.write('Usage: npx tsx bench/train-scale.ts --model item-knn|ease|ials --interactions <n> [--items <n>] [--seed <n>] [--ease-items <n>]\n');
  process.exitCode = 2;
} else {
  const train = synthetic(interactions, items, Number(values.seed ?? 1));
  const rssBefore = Math.round(process.memoryUsage().rss / 2 ** 20);
  const t0 = performance.now();
  const m = buildInteractionMatrix(train);
  if (model === 'item-knn') fitItemKnn(m);
  else if (model === 'ease') fitEase(m, values['ease-items'] ? { items: Number(values['ease-items']) } : {});
  else fitIals(m);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    `${model}: ${interactions} interactions (${m.nnz} distinct, ${m.userIds.length} users, ${items} items): fit ${seconds.toFixed(1)} s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (data alone ${rssBefore} MiB)\n`,
  );
}
