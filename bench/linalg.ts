/**
 * Time of EASE's dense inverse with ml-matrix on an SPD Gram-like matrix (XᵀX + 500·I of a random sparse X).
 * Usage: npx tsx bench/linalg.ts <n> [<n> ...]   e.g. flock /tmp/rtrec-heavy.lock npx tsx bench/linalg.ts 1000 3000
 */
import { inverse, Matrix } from 'ml-matrix';
import { createRng } from '../src/common/random.js';

function gram(n: number): Float64Array[] {
  const rng = createRng(n);
  const g = Array.from({ length: n }, () => new Float64Array(n));
  for (let u = 0; u < 3 * n; u++) {
    // Skewed item draws, as in real logs: a few items in most baskets.
    const items = Array.from({ length: 8 }, () => Math.floor(rng.next() * rng.next() * n));
    for (const a of items) for (const b of items) g[a]![b]! += 1;
  }
  for (let i = 0; i < n; i++) g[i]![i]! += 500;
  return g;
}

const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
  process.stderr.write('Usage: npx tsx bench/linalg.ts <n> [<n> ...] (positive integers: matrix sizes)\n');
  process.exitCode = 2;
} else {
  for (const n of sizes) {
    const m = new Matrix(gram(n));
    const t = performance.now();
    const p = inverse(m);
    const seconds = (performance.now() - t) / 1000;
    // A residual check, so a fast wrong answer cannot pass as a timing.
    let residual = 0;
    const row = m.getRow(0);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += row[k]! * p.get(k, j);
      residual = Math.max(residual, Math.abs(s - (j === 0 ? 1 : 0)));
    }
    process.stdout.write(
      `ml-matrix inverse n=${n}: ${seconds.toFixed(1)} s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB, max |(G·P − I)[0,·]| ${residual.toExponential(1)}\n`,
    );
  }
}
