import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { projectRoot } from '../paths.js';

/*
 * Periodic training in the demo: `rtrec train --json` in a child process every few minutes, so the item-kNN
 * fit and the weight search (seconds of CPU on a big history) never block the API's event loop. One run at a
 * time; a run that fails is logged and the next one tries again. Serving picks the result up by itself
 * (rec_ranker is re-read every 30 s, neighbours are read per request).
 */

export interface PeriodicTraining {
  stop(): Promise<void>;
}

export function startPeriodicTraining(options: { everyMinutes: number; logger: Logger; onTrained?(summary: string): void }): PeriodicTraining {
  let child: ReturnType<typeof spawn> | undefined;
  let stopped = false;
  const run = () => {
    if (stopped || child) return;
    const started = Date.now();
    let out = '';
    let err = '';
    const proc = spawn(process.execPath, [join(projectRoot, 'bin', 'rtrec.js'), 'train', '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    child = proc;
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    proc.on('close', (code) => {
      child = undefined;
      if (stopped) return;
      if (code !== 0) {
        // Too little history yet is the usual reason early in a demo: say it once per run, at info level.
        options.logger.info({ code, stderr: err.trim().split('\n').slice(-3).join(' ') }, 'rtrec train did not store a model this round');
        return;
      }
      try {
        const report = JSON.parse(out.trim().split('\n').pop() ?? '{}');
        const r = report.ranker;
        const summary = `Trained the recommender in ${((Date.now() - started) / 1000).toFixed(0)} s: ${report.neighbours.rows} learned neighbours, weights fitted on ${r.cases} validation cases (HR@10 ${r.fitted.hr.toFixed(3)} vs ${r.defaults.hr.toFixed(3)} with the defaults)${report.saved ? '' : ', not stored (too few cases)'}`;
        options.logger.info(
          { neighbours: report.neighbours.rows, cases: r.cases, fitted: r.fitted, defaults: r.defaults, saved: report.saved },
          'recommender trained',
        );
        options.onTrained?.(summary);
      } catch (error) {
        options.logger.warn({ err: error }, 'could not read the output of rtrec train');
      }
    });
  };
  const timer = setInterval(run, options.everyMinutes * 60_000);
  timer.unref();
  // The first run soon after start (the demo's history needs a moment to reach the feature tables).
  const first = setTimeout(run, Math.min(60_000, options.everyMinutes * 60_000));
  first.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(first);
      const running = child;
      if (running && running.exitCode === null) {
        const exited = new Promise((resolve) => running.once('close', resolve));
        running.kill('SIGTERM');
        await exited;
      }
    },
  };
}
