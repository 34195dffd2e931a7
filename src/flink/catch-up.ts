import type { FlinkRest } from './gateway.js';
import { JOB_PREFIX } from './jobs.js';

/*
 * Whether the running rtrec jobs have read what their topics hold: for the benches (how long a catch-up took) and
 * the soak (its load starts once the jobs have read the shop's history).
 */

/** Kafka lag and records read, summed over the running rtrec jobs (or the one named `only`). */
export async function jobLag(rest: FlinkRest, only?: string): Promise<{ jobs: number; lag: number; in: number; byJob: Record<string, number> }> {
  const jobs = (await rest.jobs()).filter((j) => (only ? j.name === `${JOB_PREFIX}${only}` : j.name.startsWith(JOB_PREFIX)) && j.state === 'RUNNING');
  let lag = 0;
  let recordsIn = 0;
  const byJob: Record<string, number> = {};
  for (const job of jobs) {
    const r = await rest.records(job.id);
    lag += r.lag;
    recordsIn += r.in;
    byJob[job.name.slice(JOB_PREFIX.length)] = r.lag;
  }
  return { jobs: jobs.length, lag, in: recordsIn, byJob };
}

/**
 * Waits until freshly deployed jobs (all, or the one named `only`) have read the topics' history: running, no
 * Kafka lag, and records read unchanged since the previous poll. Resolves with the seconds it took.
 */
export async function waitCaughtUp(rest: FlinkRest, pollMs: number, only?: string, timeoutMs = 600_000): Promise<number> {
  const started = Date.now();
  for (let previous = -1; ; ) {
    await new Promise((r) => setTimeout(r, pollMs));
    const now = await jobLag(rest, only).catch(() => ({ jobs: 0, lag: -1, in: -1 }));
    if (now.jobs > 0 && now.lag === 0 && now.in === previous) return Math.round((Date.now() - started) / 1000);
    previous = now.in;
    if (Date.now() - started > timeoutMs) throw new Error(`${only ?? 'the jobs'} did not catch up with the topics in ${timeoutMs / 60_000} minutes`);
  }
}
