/**
 * EASE's fit on its two backends, on the same synthetic binary matrix (3·n users × 8 skewed items each, as in
 * real logs: a few items in most baskets): numpy (LAPACK in its virtualenv, the default) against ml-matrix in
 * process (the baseline, measured in the same run up to --js-max items: it is cubic and slow).
 *
 *   flock /tmp/rtrec-heavy.lock npx tsx bench/ease.ts [--sizes 1000,2000,5000,20000] [--js-max 2000]
 *
 * Prints per size: seconds of each backend (numpy: its Gram, inverse and write phases and the worker's peak
 * RSS), the ratio, and the largest |B_numpy − B_js| where both ran (numpy returns float32).
 */
import { parseArgs } from 'node:util';
import { createRng } from '../src/common/random.js';
import type { UserHistory } from '../src/recommend/evaluation/split.js';
import { fitEase, trainEase } from '../src/recommend/models/ease.js';
import { buildInteractionMatrix } from '../src/recommend/models/matrix.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,2000,5000,20000' }, 'js-max': { type: 'string', default: '2000' } } });
const sizes = values.sizes!.split(',').map(Number);
const jsMax = Number(values['js-max']);
if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 20_000) || !(jsMax >= 0)) {
  process.stderr.write('Usage: npx tsx bench/ease.ts [--sizes 1000,2000] [--js-max 2000] (sizes: integers 2–20000)\n');
  process.exit(2);
}

for (const n of sizes) {
  const rng = createRng(n);
  const users = new Map<number, UserHistory>();
  for (let u = 1; u <= 3 * n; u++) {
    const history: UserHistory = new Map();
    for (let k = 0; k < 8; k++) history.set(1 + Math.floor(rng.next() * rng.next() * n), { weight: 1, purchased: false });
    users.set(u, history);
  }
  const matrix = buildInteractionMatrix({ users, catalogue: Array.from({ length: n }, (_, i) => i + 1) }, { values: 'binary' });
  let t = performance.now();
  const numpy = await trainEase(matrix, { items: n, log: (m) => process.stdout.write(`${m}\n`) });
  const numpySeconds = (performance.now() - t) / 1000;
  const w = numpy.worker!;
  let line = `n=${numpy.items.length}: numpy ${numpySeconds.toFixed(2)} s (Gram ${w.gramSeconds.toFixed(2)}, inverse ${w.inverseSeconds.toFixed(2)}, write ${w.writeSeconds.toFixed(2)}; worker peak RSS ${Math.round(w.peakRssMiB)} MiB)`;
  if (n <= jsMax) {
    t = performance.now();
    const js = fitEase(matrix, { items: n });
    const jsSeconds = (performance.now() - t) / 1000;
    let worst = 0;
    for (let q = 0; q < js.weights.length; q++) worst = Math.max(worst, Math.abs(js.weights[q]! - numpy.weights[q]!));
    line += `; ml-matrix ${jsSeconds.toFixed(2)} s; ml-matrix / numpy ${(jsSeconds / numpySeconds).toFixed(1)}×; max |ΔB| ${worst.toExponential(1)}`;
  }
  process.stdout.write(`${line}\n`);
}
