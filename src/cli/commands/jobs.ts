import { jobManagerFor } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { ensureDatabaseUrls, prepareDatabase } from '../../database/database.js';
import { AppError } from '../../errors.js';
import { createLogger } from '../../logging/logger.js';
import { print, printTable } from '../output.js';

/** The job manager, its JDBC sinks connecting as the Flink role. */
async function jobsFromEnv(prepare = false) {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { component: 'jobs' });
  // Deploying: the jobs write their results into tables of the shop database, which must exist and be granted.
  const urls = prepare ? await prepareDatabase(config, logger) : await ensureDatabaseUrls(config, logger);
  return { config, jobs: jobManagerFor(config, urls.flink, logger) };
}

/** `rtrec jobs deploy [name] [--all]`: submits the job(s) of flink/ unless a copy is already running. */
export async function jobsDeploy(name: string | undefined, options: { all?: boolean; fresh?: boolean }): Promise<void> {
  if (!name && !options.all) throw new AppError('BAD_USER_INPUT', 'Name a job (e.g. `npx rtrec jobs deploy fraud-detection`) or pass --all.');
  if (name && options.all) throw new AppError('BAD_USER_INPUT', 'Give either a job name or --all, not both.');
  const { jobs } = await jobsFromEnv(true);
  const names = name ? [name] : jobs.definitions().map((d) => d.name);
  for (const job of names) {
    const outcome = await jobs.deploy(job, { fresh: options.fresh });
    print(`${outcome.name}: ${outcome.outcome} (job ${outcome.jobId}${outcome.resumedFrom ? `, resumed from ${outcome.resumedFrom}` : ''})`);
  }
}

/** `rtrec jobs list`: state, uptime, records in/out and last checkpoint of each job. */
export async function jobsList(options: { json?: boolean }): Promise<void> {
  const { jobs } = await jobsFromEnv();
  const list = await jobs.list();
  if (options.json) return print(JSON.stringify({ jobs: list }));
  printTable(
    list.map((j) => ({
      job: j.name,
      state: j.state,
      uptime: j.uptimeMs === undefined ? '' : formatDuration(j.uptimeMs),
      'records in': j.recordsIn ?? '',
      'records out': j.recordsOut ?? '',
      lag: j.lag ?? '',
      'late dropped': j.lateDropped ?? '',
      'last checkpoint': j.lastCheckpoint ? `#${j.lastCheckpoint.id} ${j.lastCheckpoint.at}` : '',
      'flink job id': j.jobId ?? '',
    })),
  );
}

/** `rtrec jobs cancel <name>`: cancels the running job, keeping its checkpoint for the next deploy. */
export async function jobsCancel(name: string): Promise<void> {
  const { jobs } = await jobsFromEnv();
  const cancelled = await jobs.cancel(name);
  if (!cancelled) {
    print(`${name}: not running`);
    return;
  }
  print(`${cancelled.name}: cancelled (job ${cancelled.jobId}); \`npx rtrec jobs deploy ${cancelled.name}\` resumes from its last checkpoint`);
}

/** `rtrec jobs render <name>`: the statements as they would be sent to the SQL gateway. */
export async function jobsRender(name: string): Promise<void> {
  const { jobs } = await jobsFromEnv();
  for (const statement of jobs.render(name)) print(`${statement};\n`);
}

function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}
