import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../src/paths.js';

/** The CLI entry point the benches drive, as a user would. */
export const BIN = join(projectRoot, 'bin', 'rtrec.js');

/** `--name <number>` from the bench's command line, or the fallback. */
export function flag(name: string, fallback: number, args = process.argv.slice(2)): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** Runs `rtrec <argv>` in a child process with `env`; resolves to its stdout, rejects on a non-zero exit. */
export function cli(argv: string[], env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`rtrec ${argv.join(' ')} exited ${code}`))));
  });
}

/** The p-th percentile of an ascending array (nearest rank); NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;
}
