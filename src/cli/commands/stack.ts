import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../../errors.js';
import { createLogger } from '../../logging/logger.js';
import { isEngineName } from '../../stack/engine.js';
import { createStack, ENGINE_NAMES, type EngineName, type EngineStatus } from '../../stack/stack.js';
import { print, printTable } from '../output.js';

function stackFromEnv() {
  const config = loadConfig();
  return createStack(config, createLogger(config.logLevel, { component: 'stack' }));
}

/** `rtrec stack up`: fetch the engines once, start what is not running, print the resulting status. */
export async function stackUp(engines: string[], options: { json?: boolean }): Promise<void> {
  const stack = stackFromEnv();
  const started = Date.now();
  const unknown = engines.filter((e) => !isEngineName(e));
  if (unknown.length) throw new AppError('BAD_USER_INPUT', `Unknown engine ${unknown.join(', ')}: choose from ${ENGINE_NAMES.join(', ')}.`);
  const results = await stack.up(engines.length ? { engines: engines as EngineName[] } : {});
  const status = await stack.status();
  if (options.json) return print(JSON.stringify({ results, engines: status }));
  for (const r of results) print(`${r.engine}: ${r.outcome}${r.outcome === 'started' ? ` in ${(r.ms / 1000).toFixed(1)} s` : ''}`);
  printStatus(status);
  print(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s; stop it with: npx rtrec stack down`);
}

/** `rtrec stack down`: stop every managed engine and check that nothing is left. */
export async function stackDown(): Promise<void> {
  const outcomes = await stackFromEnv().down();
  for (const o of outcomes) {
    if (o.leftRunning) {
      print(`${o.engine}: left running, ${o.leftRunning}`);
      continue;
    }
    print(
      `${o.engine}: ${o.stopped.length > 0 ? `stopped (pid ${o.stopped.join(', ')}${o.forced ? ', killed after the grace period' : ''})` : 'was not running'}`,
    );
  }
  print('no process started by the stack is running.');
}

/** `rtrec stack status`: health, pid and ports of each engine. Exits 1 when a managed engine runs unhealthy. */
export async function stackStatus(options: { json?: boolean }): Promise<void> {
  const status = await stackFromEnv().status();
  if (options.json) print(JSON.stringify({ engines: status }));
  else printStatus(status);
  if (status.some((s) => s.running && !s.healthy)) process.exitCode = 1;
}

/** `rtrec stack logs <engine>`: the end of an engine's log, optionally following it until Ctrl-C. */
export async function stackLogs(engine: string, options: { lines: number; follow?: boolean }): Promise<void> {
  const stack = stackFromEnv();
  const file = stack.logFile(engine);
  const lines = stack.logs(engine, options.lines);
  if (!existsSync(file)) process.stderr.write(`(no log yet: ${file})\n`);
  for (const line of lines) print(line);
  if (options.follow) await follow(file);
}

function printStatus(status: EngineStatus[]): void {
  printTable(
    status.map((s) => ({
      engine: s.engine,
      mode: s.mode,
      state: s.healthy ? 'healthy' : s.running ? 'UNHEALTHY' : s.mode === 'external' ? 'unreachable' : 'stopped',
      pid: s.pid ?? '',
      ports: Object.entries(s.ports)
        .map(([k, v]) => `${k}:${v}`)
        .join(' '),
      address: s.address,
      detail: s.detail ?? '',
    })),
  );
}

/** Prints what is appended to `file` until SIGINT/SIGTERM (a truncated or replaced file is read from its start). */
async function follow(file: string): Promise<void> {
  let position = existsSync(file) ? statSync(file).size : 0;
  let stopping = false;
  const stop = () => (stopping = true);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  while (!stopping) {
    const size = existsSync(file) ? statSync(file).size : 0;
    if (size < position) position = 0;
    if (size > position) {
      const buffer = Buffer.alloc(size - position);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, buffer, 0, buffer.length, position);
      } finally {
        closeSync(fd);
      }
      process.stdout.write(buffer);
      position = size;
    }
    await sleep(500);
  }
}
