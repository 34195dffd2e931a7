import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../paths.js';

/** The API as a process of its own (`rtrec serve`), so that the soak can kill -9 it and start it again. */
export interface ApiProcess {
  readonly url: string;
  readonly pid: number | undefined;
  /** Starts it and waits until /health answers. */
  start(timeoutMs?: number): Promise<void>;
  /** kill -9 and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (the graceful path) and wait; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function apiProcess(options: { port: number; env: NodeJS.ProcessEnv; logFile: string }): ApiProcess {
  const url = `http://127.0.0.1:${options.port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const waitExit = async (timeoutMs: number) => {
    await Promise.race([exited, sleep(timeoutMs)]);
  };
  return {
    url,
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async start(timeoutMs = 60_000) {
      const log = openSync(options.logFile, 'a');
      child = spawn(process.execPath, [join(projectRoot, 'bin', 'rtrec.js'), 'serve', '--port', String(options.port), '--host', '127.0.0.1'], {
        cwd: projectRoot,
        env: options.env,
        stdio: ['ignore', log, log],
      });
      const current = child;
      exited = new Promise((resolve) => current.once('exit', () => resolve()));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (current.exitCode !== null || current.signalCode !== null)
          throw new Error(`the API exited (code ${current.exitCode ?? current.signalCode}) while starting; see ${options.logFile}`);
        const healthy = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
          .then((r) => r.ok)
          .catch(() => false);
        if (healthy) return;
        if (Date.now() > deadline) throw new Error(`the API did not answer /health within ${timeoutMs / 1000} s; see ${options.logFile}`);
        await sleep(200);
      }
    },
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await waitExit(10_000);
    },
    async stop(graceMs = 15_000) {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await waitExit(graceMs);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await waitExit(5000);
      }
    },
  };
}
