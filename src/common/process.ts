import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.js';

/** True when `pid` is a live process (a zombie counts as gone: it holds no resources and will be reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces, so read the state after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The command line of a process as one string, or undefined when it is gone. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every live process whose command line contains `marker`. The stack tags each JVM with a unique
 * `-Drtrec.stack.dir=<dir>` so that `down` finds its engines even when a pid file was lost or is stale.
 */
export function findProcesses(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if (commandLine(pid)?.includes(marker) && isAlive(pid)) pids.push(pid);
  }
  return pids;
}

export function readPidFile(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Starts a daemon that outlives this process: its own process group, stdout and stderr appended to
 * `logFile`, no handle kept by Node. Returns its pid.
 */
export function spawnDetached(command: string, args: string[], options: { logFile: string; cwd: string; env?: NodeJS.ProcessEnv }): number {
  const fd = openSync(options.logFile, 'a');
  try {
    writeFileSync(fd, `\n----- ${new Date().toISOString()} starting ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (child.pid === undefined) throw new AppError('STACK_START_FAILED', `Could not start ${command}: is it installed and on PATH?`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. `forced` tells whether it
 * had to be killed (an engine that ignores SIGTERM that long is stuck, and a clean stop is not coming).
 */
export async function terminate(pid: number, graceMs: number): Promise<{ forced: boolean }> {
  if (!isAlive(pid)) return { forced: false };
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, graceMs)) return { forced: false };
  signal(pid, 'SIGKILL');
  if (await waitForExit(pid, 10_000)) return { forced: true };
  throw new AppError('STACK_START_FAILED', `Process ${pid} survived SIGKILL; check it with \`ps -p ${pid}\`.`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `check` until it returns true. Fails early, with the end of the engine's log, when the process
 * dies — waiting out the timeout on a JVM that already exited would only hide the reason.
 */
export async function waitUntil(check: () => Promise<boolean>, options: { what: string; pid: number; logFile: string; timeoutMs: number }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    if (!isAlive(options.pid)) {
      throw new AppError(
        'STACK_START_FAILED',
        `${options.what} exited during start-up. Last log lines (${options.logFile}):\n${tail(options.logFile, 15).join('\n')}`,
      );
    }
    await sleep(250);
  }
  throw new AppError(
    'STACK_START_FAILED',
    `${options.what} did not become healthy in ${Math.round(options.timeoutMs / 1000)} s (pid ${options.pid} still running). See ${options.logFile}.`,
  );
}

/** The last `lines` lines of a text file ([] when it does not exist). Reads at most the last 4 MiB. */
export function tail(file: string, lines: number): string[] {
  if (!existsSync(file)) return [];
  const size = statSync(file).size;
  const length = Math.min(size, 4 * 1024 * 1024);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const all = buffer.toString('utf8').split('\n');
  if (all.at(-1) === '') all.pop();
  return lines <= 0 ? [] : all.slice(-lines);
}

/** Removes a pid file if it names a process that is gone (a crash or reboot left it behind). */
export function clearStalePidFile(file: string): void {
  const pid = readPidFile(file);
  if (pid !== undefined && !isAlive(pid)) rmSync(file, { force: true });
}

export function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** Fails with the variable to change when a port the engine needs is already taken by something else. */
export async function assertPortsFree(ports: { port: number; variable: string; what: string }[]): Promise<void> {
  for (const { port, variable, what } of ports) {
    if (await portOpen(port)) {
      throw new AppError('PORT_IN_USE', `port ${port} (${what}) is in use by another process: stop it or set ${variable} to a free port.`);
    }
  }
}
