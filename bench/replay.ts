/**
 * Replay of a real log through the storefront while the whole stack runs (not a timed test): does Flink keep
 * up with a live shop's pace × `--speed`?
 *
 *   RTREC_DATA_DIR=/tmp/replay-bench npx tsx bench/replay.ts [--speed 60] [--seconds 120] [--writers 4 | --batch-ms 100]
 *     [--csv ../shared/datasets/taobao-userbehavior-slice.csv]   (Taobao's map and types by default)
 *
 * It brings up the local stack (`rtrec stack up`), registers the connector, deploys the jobs of flink/ fresh,
 * then runs `rtrec import events --replay --speed X` in a child process for `--seconds` and stops it with
 * SIGINT. Every 5 s it samples the jobs' Kafka lag (records the sources have not read yet) and the actions
 * written so far; afterwards it waits until the jobs have read everything. Reported: actions/s written, the
 * replay's effective speed (log time covered / real time: below `--speed` when the writer cannot keep the
 * log's pace), the lag samples, and the drain time after the replay stops. Use a data dir of its own: the
 * database is filled with the log. The stack is stopped at the end unless `--keep-stack`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/env.js';
import { createPool, ensureDatabaseUrl } from '../src/database/database.js';
import { jobLag, waitCaughtUp } from '../src/flink/catch-up.js';
import { FlinkRest } from '../src/flink/gateway.js';
import { createKafka } from '../src/kafka/client.js';
import { BIN, offsetLag, cli as rtrec } from './lib.js';

const { values } = parseArgs({
  options: {
    speed: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '120' },
    writers: { type: 'string', default: '4' },
    'batch-ms': { type: 'string' },
    'keep-stack': { type: 'boolean', default: false },
    csv: { type: 'string', default: '../shared/datasets/taobao-userbehavior-slice.csv' },
    map: { type: 'string', default: 'user=user,item=item,type=type,timestamp=ts,category=category' },
    types: { type: 'string', default: 'view=view_product,cart=add_to_cart,wishlist=add_to_wishlist,purchase=purchase' },
  },
});
const speed = Number(values.speed);
const seconds = Number(values.seconds);
if (!(speed > 0) || !(seconds > 0)) throw new Error('--speed and --seconds must be positive numbers');
const env = { ...process.env, LOG_LEVEL: 'error' };
const cli = (argv: string[]) => rtrec(argv, env);

console.log(
  `bench:replay — ${values.csv} at ×${speed} for ${seconds} s, ${values['batch-ms'] ? `batches of ${values['batch-ms']} ms` : `${values.writers} writers`}; stack up, connector, jobs…`,
);
await cli(['stack', 'up']);
await cli(['db', 'init']);
const config = loadConfig(env);
const pool = createPool(await ensureDatabaseUrl(config), 4);
await cli(['cdc', 'register']);
for (const job of ['fraud-detection', 'recommendation-features', 'revenue-stats', 'top-products']) await cli(['jobs', 'cancel', job]);
console.log((await cli(['jobs', 'deploy', '--all', '--fresh'])).trim());
const rest = new FlinkRest(config.flink.restUrl);
const admin = createKafka(config, 'rtrec-bench-replay').admin();
await admin.connect();
const kafka = {
  topics: () => admin.listTopics(),
  ends: async (topic: string) => new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)])),
};
console.log(`jobs caught up with the history in ${await waitCaughtUp(rest, 3000)} s`);

const count = async () => {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM behavior_events');
  return rows[0]!;
};
const before = (await count()).n;
const child = spawn(
  process.execPath,
  [
    BIN,
    'import',
    'events',
    '--csv',
    values.csv!,
    '--map',
    values.map!,
    '--types',
    values.types!,
    '--replay',
    '--speed',
    String(speed),
    ...(values['batch-ms'] ? ['--batch-ms', values['batch-ms']] : ['--writers', values.writers!]),
  ],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  },
);
const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

// CPU seconds the TaskManager (all five jobs) spent during the replay: its cost per action, whatever the scheduler did.
const taskManagerCpu = (): number | undefined => {
  const pid = execFileSync('pgrep', ['-f', 'TaskManagerRunner'], { encoding: 'utf8' }).trim().split('\n')[0];
  if (!pid) return undefined;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
};
let cpuAtStart: number | undefined;

/** `job n, …` for the jobs with a backlog. */
const perJob = (m: Record<string, number>) =>
  Object.entries(m)
    .filter(([, l]) => l > 0)
    .map(([name, l]) => `${name} ${l}`)
    .join(', ');

// The replay starts writing after it has checked the file and made the keys: time from its first action.
let started = 0;
const samples: { t: number; written: number; lag: number; byJob: Record<string, number>; behind: number; behindByJob: Record<string, number> }[] = [];
while (true) {
  await new Promise((r) => setTimeout(r, 5000));
  const now = await count();
  if (!started && now.n > before) {
    started = Date.now();
    cpuAtStart = taskManagerCpu();
  }
  if (!started) continue;
  const { lag, byJob } = await jobLag(rest).catch(() => ({ lag: -1, byJob: {} }));
  const behindByJob = await offsetLag(rest, kafka).catch((error) => {
    console.error(`could not measure the records behind: ${error.message}`);
    return {} as Record<string, number>;
  });
  const behind = Object.values(behindByJob).reduce((a, b) => a + b, 0);
  const t = (Date.now() - started) / 1000;
  samples.push({ t, written: now.n - before, lag, byJob, behind, behindByJob });
  console.log(
    `t=${t.toFixed(0)} s  actions written ${now.n - before}  records behind (end offsets − sources' positions) ${behind}${perJob(behindByJob) ? ` (${perJob(behindByJob)})` : ''}; consumers' records-lag-max ${lag}`,
  );
  if (t >= seconds) break;
}
child.kill('SIGINT');
await exited;
const elapsed = (Date.now() - started) / 1000;
const { rows: span } = await pool.query<{ n: number; covered: number }>(
  `SELECT count(*)::int AS n, extract(epoch FROM max(occurred_at) - min(occurred_at))::float8 AS covered
   FROM (SELECT occurred_at FROM behavior_events ORDER BY event_id DESC LIMIT $1) x`,
  [(await count()).n - before],
);
const drain = await waitCaughtUp(rest, 2000);
const cpuAtEnd = taskManagerCpu();
const lags = samples.map((s) => s.lag).filter((l) => l >= 0);
console.log(
  JSON.stringify({
    speed,
    writers: values['batch-ms'] ? undefined : Number(values.writers),
    batchMs: values['batch-ms'] ? Number(values['batch-ms']) : undefined,
    seconds: Number(elapsed.toFixed(1)),
    actions: span[0]!.n,
    actionsPerSecond: Number((span[0]!.n / elapsed).toFixed(1)),
    effectiveSpeed: Number((span[0]!.covered / elapsed).toFixed(1)),
    lagMax: Math.max(...lags),
    lagLast: lags[lags.length - 1],
    lagLastByJob: samples.at(-1)?.byJob,
    behindMax: Math.max(...samples.map((s) => s.behind)),
    behindLast: samples.at(-1)?.behind,
    behindLastByJob: samples.at(-1)?.behindByJob,
    drainSeconds: drain,
    // The TaskManager's CPU from the first action until the jobs had read everything, per 1,000 actions.
    taskManagerCpuSeconds: cpuAtStart !== undefined && cpuAtEnd !== undefined ? Number((cpuAtEnd - cpuAtStart).toFixed(1)) : undefined,
    taskManagerCpuMsPerAction:
      cpuAtStart !== undefined && cpuAtEnd !== undefined ? Number((((cpuAtEnd - cpuAtStart) * 1000) / span[0]!.n).toFixed(2)) : undefined,
  }),
);
await admin.disconnect();
await pool.end();
if (!values['keep-stack']) await cli(['stack', 'down']);
