import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/env.js';
import { connectionFields } from '../database/url.js';
import { AppError } from '../errors.js';
import { createKafka, ensureTopics, withKafka } from '../kafka/client.js';
import type { Logger } from '../logging/logger.js';
import { projectRoot } from '../paths.js';
import { RECENT_POPULARITY } from './contracts.js';
import { type FlinkJob, FlinkRest, SqlGateway } from './gateway.js';
import { bareValue, quotedBody, stringLiteral } from './sql-values.js';

/** The checked-in jobs: one Flink SQL file per job in flink/, the job named after the file. */
export const JOBS_DIR = join(projectRoot, 'flink');
/** Running job names carry this prefix, so `jobs list` and idempotent deploys can tell ours from others. */
export const JOB_PREFIX = 'rtrec-';

/** Job states in which a job counts as deployed: a second copy must not be started. */
const ACTIVE = new Set(['INITIALIZING', 'CREATED', 'RUNNING', 'RESTARTING', 'FAILING', 'CANCELLING', 'RECONCILING']);

export interface JobDefinition {
  name: string;
  file: string;
}

export function jobDefinitions(dir = JOBS_DIR): JobDefinition[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => ({ name: basename(f, '.sql'), file: join(dir, f) }));
}

/** Values for the `${name}` placeholders of the job files, from the configuration in use. */
export function jobPlaceholders(config: Config, databaseUrl: string): Record<string, string> {
  const db = connectionFields(databaseUrl);
  const jobs = config.jobs;
  return {
    'kafka.brokers': (config.engines.kafkaBrokers ?? config.kafka.brokers).join(','),
    'topic.prefix': config.cdc.topicPrefix,
    'jdbc.url': `jdbc:postgresql://${config.engines.dbAddress?.host ?? db.host}:${config.engines.dbAddress?.port ?? db.port}/${db.database}`,
    'jdbc.user': db.user,
    'jdbc.password': db.password,
    'watermark.delay': (jobs.watermarkDelayMs / 1000).toFixed(3),
    'fraud.velocity.max_orders': String(jobs.fraudVelocityMaxOrders),
    'fraud.high_value': jobs.fraudHighValue.toFixed(2),
    'fraud.burst.count': String(jobs.fraudBurstCount),
    'fraud.burst.window_seconds': String(jobs.fraudBurstWindowSeconds),
    'fraud.burst.window': dayToSecond(jobs.fraudBurstWindowSeconds),
    'revenue.window_seconds': String(jobs.revenueWindowSeconds),
    'revenue.window': dayToSecond(jobs.revenueWindowSeconds),
    'top.n': String(jobs.topN),
    'popularity.epoch_seconds': String(RECENT_POPULARITY.epochSeconds),
    'popularity.half_life_seconds': String(RECENT_POPULARITY.halfLifeSeconds),
  };
}

/**
 * A duration as the body of a Flink `INTERVAL '…' DAY TO SECOND` literal: `INTERVAL '300' SECOND` is
 * refused (the default SECOND precision is 2 digits, and Flink supports no other), `'0 00:05:00'` is not.
 */
export function dayToSecond(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(seconds / 86400)} ${pad(Math.floor((seconds % 86400) / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`;
}

/** `-- @include <fragment> name=value ...`: a line replaced by flink/include/<fragment>.sql with its `${name}`s filled. */
const INCLUDE = /^\s*--\s*@include\s+([\w-]+)((?:\s+[\w.]+=[\w.-]+)*)\s*$/;

/**
 * Expands the include lines of a job file. Fragments keep the shared DDL (the Kafka source options of the
 * change topics) in one place; what they expand to is plain Flink SQL, so a rendered job runs in any client.
 */
export function expandIncludes(file: string, text: string, depth = 0): string {
  // Fragments may include fragments (a source table includes the Kafka options): a job's include/ folder holds them all.
  const folder = depth === 0 ? join(dirname(file), 'include') : dirname(file);
  return text
    .split('\n')
    .map((line, index) => {
      const m = INCLUDE.exec(line);
      if (!m) return line;
      const fragment = join(folder, `${m[1]}.sql`);
      if (depth >= 4) throw new AppError('BAD_USER_INPUT', `${file}: line ${index + 1} includes "${m[1]}" more than 4 levels deep (an include cycle?).`);
      let body: string;
      try {
        body = readFileSync(fragment, 'utf8');
      } catch {
        throw new AppError('BAD_USER_INPUT', `${file}: line ${index + 1} includes "${m[1]}", but ${fragment} does not exist.`);
      }
      const params = Object.fromEntries(
        m[2]!
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map((pair) => pair.split('=') as [string, string]),
      );
      const filled = body.replace(/\$\{([\w.]+)\}/g, (whole, key: string) => params[key] ?? whole);
      return expandIncludes(fragment, filled, depth + 1)
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('--'))
        .join('\n');
    })
    .join('\n');
}

/**
 * Fills the placeholders and splits a job file into statements: comments removed, split on `;` outside
 * quotes, an `EXECUTE STATEMENT SET BEGIN ... END` block kept whole. Every problem names the file and line.
 */
export function renderJob(file: string, placeholders: Record<string, string>, text = readFileSync(file, 'utf8')): string[] {
  placeholders = { 'job.name': basename(file, '.sql'), ...placeholders };
  const filled = fillPlaceholders(file, expandIncludes(file, text), placeholders);
  const statements: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inSet = false;
  for (let i = 0; i < filled.length; i++) {
    const c = filled[i]!;
    if (quote) {
      current += c;
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '-' && filled[i + 1] === '-') {
      while (i < filled.length && filled[i] !== '\n') i++;
      current += '\n';
      continue;
    }
    if (c === "'" || c === '`' || c === '"') {
      quote = c;
      current += c;
      continue;
    }
    if (c === ';') {
      const statement = current.trim();
      if (/^EXECUTE\s+STATEMENT\s+SET\s+BEGIN\b/i.test(statement) && !/\bEND$/i.test(statement)) {
        inSet = true;
        current += ';';
        continue;
      }
      if (statement) statements.push(statement);
      current = '';
      inSet = false;
      continue;
    }
    current += c;
  }
  if (quote) throw new AppError('BAD_USER_INPUT', `${file}: unterminated ${quote} quote.`);
  if (inSet || /^EXECUTE\s+STATEMENT\s+SET/i.test(current.trim()))
    throw new AppError('BAD_USER_INPUT', `${file}: EXECUTE STATEMENT SET BEGIN ... without a closing END;`);
  if (current.trim()) statements.push(current.trim());
  const jobs = statements.filter(submitsJob);
  if (jobs.length !== 1) {
    throw new AppError(
      'BAD_USER_INPUT',
      `${file}: a job file must end in exactly one INSERT INTO or EXECUTE STATEMENT SET (found ${jobs.length}); put each job in its own file.`,
    );
  }
  if (!submitsJob(statements.at(-1)!)) throw new AppError('BAD_USER_INPUT', `${file}: the INSERT INTO / EXECUTE STATEMENT SET must be the last statement.`);
  return statements;
}

/**
 * Replaces the `${name}` placeholders outside comments (comments may mention them: documentation, dropped when
 * split): inside a quoted literal or identifier the value is escaped, outside quotes it must be a number, and a
 * value with a line break or control character is refused, naming the setting to change (sql-values.ts).
 */
function fillPlaceholders(file: string, text: string, placeholders: Record<string, string>): string {
  const unknown = new Set<string>();
  let out = '';
  let quote: "'" | '`' | '"' | undefined;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!quote && c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      out += text.slice(i, stop);
      i = stop - 1;
      continue;
    }
    const placeholder = c === '$' ? /^\$\{([\w.]+)\}/.exec(text.slice(i, i + 80)) : null;
    if (placeholder) {
      const key = placeholder[1]!;
      const value = placeholders[key];
      i += placeholder[0].length - 1;
      if (value === undefined) {
        unknown.add(`\${${key}} (line ${line})`);
        continue;
      }
      try {
        out += quote ? quotedBody(value, { placeholder: key }, quote) : bareValue(value, { placeholder: key });
      } catch (error) {
        if (error instanceof AppError) throw new AppError(error.code, `${file}: line ${line}: ${error.message}`);
        throw error;
      }
      continue;
    }
    if (c === '\n') line++;
    if (quote) {
      // A doubled quote closes and reopens: the same state as before it.
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '`' || c === '"') quote = c;
    out += c;
  }
  if (unknown.size > 0) {
    throw new AppError(
      'BAD_USER_INPUT',
      `${file}: unknown placeholder ${[...unknown].join(', ')}. Known: ${Object.keys(placeholders)
        .map((k) => `\${${k}}`)
        .join(', ')}.`,
    );
  }
  return out;
}

function submitsJob(statement: string): boolean {
  return /^(INSERT\s+INTO|EXECUTE\s+STATEMENT\s+SET|EXECUTE\s+INSERT)/i.test(statement);
}

export interface JobStatus {
  name: string;
  jobId?: string;
  state: string;
  uptimeMs?: number;
  recordsIn?: number;
  recordsOut?: number;
  /** Kafka consumer lag of the sources (records not yet read). */
  lag?: number;
  /** Changes that arrived after the watermark had passed their window (the late-data policy drops them). */
  lateDropped?: number;
  lastCheckpoint?: { id: number; at: string };
  file?: string;
}

export interface DeployOutcome {
  name: string;
  outcome: 'deployed' | 'already running';
  jobId: string;
  /** The checkpoint the new job resumed from, when an earlier run of the job left one. */
  resumedFrom?: string;
}

/** Where the job manager finds the jobs and the cluster's retained state. */
export interface JobManagerPaths {
  /** The job files (default flink/ of the project). */
  jobsDir?: string;
  /** The cluster's checkpoint directory (state.checkpoints.dir), where a redeploy looks for retained checkpoints. */
  checkpointsDir: string;
  /** A small JSON file of the job ids of earlier runs (a restarted cluster forgets them). */
  historyFile: string;
  /**
   * Where compiled plans of the jobs are kept (a folder the SQL gateway can write): when set, a job is compiled
   * once (`COMPILE PLAN`) and every deploy submits the plan (`EXECUTE PLAN`), which skips parsing and optimising
   * the SQL — a redeploy after a JobManager crash takes ~1 s per job instead of ~4–6 s. Unset for a gateway on
   * another machine (it would write the plan there).
   */
  plansDir?: string;
  /** The managed cluster's high-availability store (high-availability.storageDir): jobs a restarted JobManager takes back. */
  haDir?: string;
}

/** The one statement of a job that submits it, as the body of `COMPILE PLAN '…' FOR <body>`. */
function planBody(statement: string): string {
  return statement.replace(/^EXECUTE\s+(?=STATEMENT\s+SET|INSERT)/i, '');
}

/** Deploys, lists and cancels the jobs of flink/ through the SQL gateway and the JobManager's REST API. */
export function createJobManager(config: Config, databaseUrl: string, logger: Logger, paths: JobManagerPaths) {
  const dir = paths.jobsDir ?? JOBS_DIR;
  const gateway = new SqlGateway(config.flink.gatewayUrl);
  const rest = new FlinkRest(config.flink.restUrl);
  const definitions = () => jobDefinitions(dir);

  const definition = (name: string): JobDefinition => {
    const found = definitions().find((d) => d.name === name || `${JOB_PREFIX}${d.name}` === name);
    if (!found)
      throw new AppError(
        'BAD_USER_INPUT',
        `No job '${name}' in ${dir}: choose one of ${
          definitions()
            .map((d) => d.name)
            .join(', ') || '(none)'
        }.`,
      );
    return found;
  };

  // The job ids of earlier runs, per job: a restarted cluster has forgotten them, its checkpoints are still on disk.
  const historyFile = paths.historyFile;
  /** A small JSON file of ours, or `fallback` when it is missing or unreadable. */
  const readJson = <T>(file: string, fallback: T): T => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
      return fallback;
    }
  };
  const history = () => readJson<Record<string, string[]>>(historyFile, {});
  const save = (all: Record<string, string[]>) => {
    mkdirSync(dirname(historyFile), { recursive: true });
    writeFileSync(historyFile, `${JSON.stringify(all, null, 2)}\n`);
  };
  // The runs submitted from a compiled plan (their checkpoints resume only into a plan-built job).
  const planRunsFile = join(dirname(historyFile), 'job-plan-runs.json');
  const planRuns = () => readJson<string[]>(planRunsFile, []);
  const remember = (jobName: string, jobId: string, fromPlan: boolean) => {
    const all = history();
    all[jobName] = [jobId, ...(all[jobName] ?? []).filter((id) => id !== jobId)].slice(0, 10);
    save(all);
    if (fromPlan) writeFileSync(planRunsFile, `${JSON.stringify([jobId, ...planRuns().filter((id) => id !== jobId)].slice(0, 200))}\n`);
  };
  /** Whether the checkpoint (…/<job id>/chk-N) was taken by a run submitted from a compiled plan. */
  const planRun = (checkpoint: string): boolean => {
    const jobId = /([0-9a-f]{32})\/chk-\d+\/?$/.exec(checkpoint)?.[1];
    return jobId !== undefined && planRuns().includes(jobId);
  };
  /** The compiled plan of a job's statements: a new file whenever the rendered SQL (or Flink's planner input) changes. */
  const planFile = (name: string, statements: string[]) => {
    const dir = paths.plansDir!;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const hash = createHash('sha256').update(statements.join(';\n')).digest('hex').slice(0, 16);
    return { dir, path: join(dir, `${name}.${hash}.json`) };
  };
  // When the data the jobs were built from was last reset (src/app/reset.ts): runs started before it are not resumed.
  const resetsFile = join(dirname(historyFile), 'job-resets.json');
  const resets = () => readJson<Record<string, number>>(resetsFile, {});

  /**
   * The newest completed checkpoint of an earlier run of the job: where a redeploy resumes. The cluster
   * knows the runs it has seen; for a managed cluster that was restarted, the retained checkpoints of the
   * runs recorded in job-runs.json are found in its checkpoint directory.
   */
  const resumePoint = async (jobName: string, jobs: FlinkJob[]): Promise<string | undefined> => {
    const resetAt = resets()[jobName] ?? 0;
    const earlier = jobs
      .filter((j) => j.name === jobName && (j.state === 'CANCELED' || j.state === 'FAILED') && j.startTime >= resetAt)
      .sort((a, b) => b.startTime - a.startTime);
    for (const job of earlier) {
      const checkpoint = await rest.lastCheckpoint(job.id).catch(() => undefined);
      if (checkpoint?.path && existsSync(checkpoint.path.replace(/^file:/, ''))) return checkpoint.path;
    }
    if (config.flink.restExternal) return undefined;
    const known = new Set(jobs.map((j) => j.id));
    for (const jobId of history()[jobName] ?? []) {
      if (known.has(jobId)) continue;
      const dir = join(paths.checkpointsDir, jobId);
      if (!existsSync(dir)) continue;
      const completed = readdirSync(dir)
        .filter((f) => /^chk-\d+$/.test(f) && existsSync(join(dir, f, '_metadata')))
        .sort((a, b) => Number(b.slice(4)) - Number(a.slice(4)));
      if (completed[0]) return `file://${join(dir, completed[0])}`;
    }
    return undefined;
  };

  /** The newest run of each of our jobs the cluster knows, an active one first. */
  const latestRuns = async (): Promise<Map<string, FlinkJob>> => {
    const jobs = (await rest.jobs()).filter((j) => j.name.startsWith(JOB_PREFIX)).sort((a, b) => b.startTime - a.startTime);
    const latest = new Map<string, FlinkJob>();
    for (const job of jobs) {
      const name = job.name.slice(JOB_PREFIX.length);
      const seen = latest.get(name);
      if (!seen || (!ACTIVE.has(seen.state) && ACTIVE.has(job.state))) latest.set(name, job);
    }
    return latest;
  };

  return {
    definitions,

    render(name: string): string[] {
      const d = definition(name);
      return renderJob(d.file, jobPlaceholders(config, databaseUrl));
    },

    /** Submits a job unless a copy of it is active; every statement runs in a fresh gateway session. */
    async deploy(name: string, options: { fresh?: boolean } = {}): Promise<DeployOutcome> {
      const d = definition(name);
      const statements = renderJob(d.file, jobPlaceholders(config, databaseUrl));
      const jobName = `${JOB_PREFIX}${d.name}`;
      const jobs = await rest.jobs();
      const active = jobs.find((j) => j.name === jobName && ACTIVE.has(j.state));
      if (active) return { name: d.name, outcome: 'already running', jobId: active.id };
      const resumedFrom = options.fresh ? undefined : await resumePoint(jobName, jobs);
      // Flink's Kafka source fails the job on a topic that does not exist yet (a table without changes so far).
      const topics = statements.flatMap((s) => [...s.matchAll(/'topic'\s*=\s*'([^']+)'/g)].map((m) => m[1]!));
      const created = await withKafka(config, () => ensureTopics(createKafka(config, 'rtrec-jobs'), topics));
      if (created.length) logger.info({ job: jobName, topics: created }, 'created topics the job reads or writes');
      // A run submitted from SQL names its operators differently from one submitted from a plan (Flink sets uids
      // only on plan-built pipelines), so a checkpoint of a run from before plans were used is resumed from SQL.
      const plan = paths.plansDir && (!resumedFrom || planRun(resumedFrom)) ? planFile(d.name, statements) : undefined;
      const session = await gateway.openSession(jobName, { 'execution.runtime-mode': 'streaming' });
      try {
        const checkpoint = {
          describe: `the checkpoint path ${JSON.stringify(resumedFrom)}`,
          fix: 'deploy with --fresh, or move RTREC_DATA_DIR to a plain path',
        };
        const settings = [
          `SET 'pipeline.name' = ${stringLiteral(jobName, { describe: `the job name ${JSON.stringify(jobName)}`, fix: 'rename its file in flink/' })}`,
          ...(resumedFrom ? [`SET 'execution.savepoint.path' = ${stringLiteral(resumedFrom, checkpoint)}`] : []),
        ];
        // `shown` is the job file's statement a wrapper (COMPILE PLAN … FOR, EXECUTE PLAN) stands for.
        const run = async (statement: string, index: number, shown = statement) => {
          try {
            return await gateway.execute(session, statement);
          } catch (error) {
            if (error instanceof AppError && error.code === 'FLINK_SQL_ERROR') {
              const head = shown
                .split('\n')
                .find((l) => l.trim())!
                .trim()
                .slice(0, 80);
              const hint = resumedFrom ? ` (it was resuming from ${resumedFrom}: if the job's SQL changed, its state may not fit; deploy with --fresh)` : '';
              throw new AppError('FLINK_SQL_ERROR', `${d.file}: statement ${index + 1} (${head}…) was rejected by Flink: ${error.message}${hint}`);
            }
            throw error;
          }
        };
        for (const statement of settings) await gateway.execute(session, statement);
        let jobId: string | undefined;
        if (plan) {
          if (!existsSync(plan.path)) {
            for (const [index, statement] of statements.slice(0, -1).entries()) await run(statement, index);
            await run(
              `COMPILE PLAN ${stringLiteral(`file://${plan.path}`, checkpoint)} FOR ${planBody(statements.at(-1)!)}`,
              statements.length - 1,
              statements.at(-1),
            );
            // The plan holds the tables' options, the database password among them.
            chmodSync(plan.path, 0o600);
            for (const f of readdirSync(plan.dir))
              if (f.startsWith(`${d.name}.`) && join(plan.dir, f) !== plan.path) rmSync(join(plan.dir, f), { force: true });
          } else {
            // The session settings the plan does not carry (the time zone the job's SQL sets, for one).
            for (const [index, statement] of statements.entries()) if (/^SET\s/i.test(statement)) await run(statement, index);
          }
          jobId = (await run(`EXECUTE PLAN ${stringLiteral(`file://${plan.path}`, checkpoint)}`, statements.length - 1, statements.at(-1))).jobId;
        } else {
          for (const [index, statement] of statements.entries()) jobId = (await run(statement, index)).jobId ?? jobId;
        }
        if (!jobId) throw new AppError('FLINK_SQL_ERROR', `${d.file}: Flink accepted the statements but returned no job id.`);
        remember(jobName, jobId, plan !== undefined);
        logger.info({ job: jobName, jobId, resumedFrom, plan: plan !== undefined }, 'Flink job submitted');
        return { name: d.name, outcome: 'deployed', jobId, resumedFrom };
      } finally {
        await gateway.closeSession(session);
      }
    },

    /**
     * How many jobs the managed cluster's high-availability store holds: a JobManager that is down takes them back,
     * with their state, when it starts again.
     */
    recoverable(): number {
      if (!paths.haDir || !existsSync(paths.haDir)) return 0;
      let count = 0;
      const walk = (dir: string, depth: number) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          if (entry.isDirectory() && depth < 3) walk(join(dir, entry.name), depth + 1);
          else if (entry.isFile() && entry.name.startsWith('submittedJobGraph')) count++;
        }
      };
      walk(paths.haDir, 0);
      return count;
    },

    /** The state of each defined job (its newest run; NOT DEPLOYED when the cluster knows none): one REST call. */
    async states(): Promise<{ name: string; state: string }[]> {
      const latest = await latestRuns();
      return definitions().map((d) => ({ name: d.name, state: latest.get(d.name)?.state ?? 'NOT DEPLOYED' }));
    },

    /** Every job of ours the cluster knows (newest run per name), plus the defined ones never deployed. */
    async list(): Promise<JobStatus[]> {
      const latest = await latestRuns();
      const statuses: JobStatus[] = [];
      for (const d of definitions()) if (!latest.has(d.name)) statuses.push({ name: d.name, state: 'NOT DEPLOYED', file: d.file });
      for (const [name, job] of latest) {
        const [records, checkpoint] = await Promise.all([rest.records(job.id).catch(() => undefined), rest.lastCheckpoint(job.id).catch(() => undefined)]);
        statuses.push({
          name,
          jobId: job.id,
          state: job.state,
          uptimeMs: ACTIVE.has(job.state) ? job.durationMs : undefined,
          recordsIn: records?.in,
          recordsOut: records?.out,
          lag: records?.lag,
          lateDropped: records?.lateDropped,
          lastCheckpoint: checkpoint ? { id: checkpoint.id, at: new Date(checkpoint.at).toISOString() } : undefined,
          file: definitions().find((d) => d.name === name)?.file,
        });
      }
      return statuses.sort((a, b) => a.name.localeCompare(b.name));
    },

    /**
     * Makes every job start from nothing on its next deploy: the runs so far (their checkpoints) are forgotten,
     * because the data their state was built from is gone (a reset). Cancel the active runs first.
     */
    forgetRuns(at = Date.now()): void {
      const all = history();
      const marks = resets();
      for (const d of definitions()) {
        delete all[`${JOB_PREFIX}${d.name}`];
        marks[`${JOB_PREFIX}${d.name}`] = at;
      }
      save(all);
      writeFileSync(resetsFile, `${JSON.stringify(marks, null, 2)}\n`);
    },

    /** Cancels the active run of a job; its last checkpoint stays so that the next deploy resumes from it. */
    async cancel(name: string): Promise<{ name: string; jobId: string } | undefined> {
      const jobName = name.startsWith(JOB_PREFIX) ? name : `${JOB_PREFIX}${name}`;
      const active = (await rest.jobs()).find((j) => j.name === jobName && ACTIVE.has(j.state));
      if (!active) {
        if (!definitions().some((d) => `${JOB_PREFIX}${d.name}` === jobName)) definition(name);
        return undefined;
      }
      await rest.cancel(active.id);
      for (let i = 0; i < 100; i++) {
        const state = (await rest.jobs()).find((j) => j.id === active.id)?.state;
        if (state === 'CANCELED' || state === 'FAILED' || state === 'FINISHED') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      return { name: jobName.slice(JOB_PREFIX.length), jobId: active.id };
    },
  };
}

export type JobManager = ReturnType<typeof createJobManager>;
