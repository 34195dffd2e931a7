#!/usr/bin/env node
// Builds the dashboard (dashboard/ → dashboard/dist, served at /dashboard) with Vite when the build is missing or
// older than what it was built from: the files the last build read (dist/.inputs.json, written by the build),
// its Vite config and the installed packages (package-lock.json). Costs a few file reads when it is fresh;
// `--force` (npm run dashboard:build) builds anyway.
// Plain Node: it runs from `npm start`, `npm test` and the dashboard tests, after ensure-install.mjs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dashboard', 'dist');
const stamp = join(dist, '.build-stamp');
const inputsFile = join(dist, '.inputs.json');

/** Every source file under dashboard/src (a new one may be a new module: rebuild once to find out). */
function sources(dir = join(root, 'dashboard', 'src'), prefix = 'dashboard/src') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name), `${prefix}/${entry.name}`) : [`${prefix}/${entry.name}`],
  );
}

/** The hash of the build's inputs and of the source listing, or undefined when an input is gone (removed or renamed: rebuild). */
function inputsHash() {
  if (!existsSync(inputsFile)) return undefined;
  const hash = createHash('sha256').update(sources().sort().join('\n')).update('\0');
  for (const file of [...JSON.parse(readFileSync(inputsFile, 'utf8')), 'dashboard/vite.config.ts', 'package-lock.json']) {
    const path = join(root, file);
    if (!existsSync(path)) return undefined;
    hash.update(file).update('\0').update(readFileSync(path)).update('\0');
  }
  return hash.digest('hex');
}

const current = inputsHash();
if (!process.argv.includes('--force') && current && existsSync(stamp) && readFileSync(stamp, 'utf8') === current) process.exit(0);

process.stderr.write('Building the dashboard (vite build)…\n');
const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
if (!existsSync(vite)) {
  process.stderr.write('Vite is not installed: run `npm ci` (npm start and npm test do it when node_modules is missing or stale).\n');
  process.exit(1);
}
const result = spawnSync(process.execPath, [vite, 'build', '--config', join(root, 'dashboard', 'vite.config.ts')], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  process.stderr.write('The dashboard build failed (see above): fix dashboard/, then run `npm run dashboard:build`.\n');
  process.exit(result.status ?? 1);
}
const built = inputsHash();
if (!built) {
  process.stderr.write('The dashboard build wrote no dashboard/dist/.inputs.json: check dashboard/vite.config.ts.\n');
  process.exit(1);
}
writeFileSync(stamp, built);
