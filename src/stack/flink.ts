import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assertPortsFree, readIfExists, waitUntil } from '../common/process.js';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Engine, EngineName, EngineStatus, StartContext, StartOutcome } from './engine.js';
import { JvmDaemon, type JvmSpec } from './jvm.js';
import { stackHome } from './manifest.js';

const execFileAsync = promisify(execFile);

/** Flink's own names for the three processes of a session cluster with its SQL gateway. */
const MAIN_CLASS = {
  'flink-jobmanager': 'org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint',
  'flink-taskmanager': 'org.apache.flink.runtime.taskexecutor.TaskManagerRunner',
  'flink-sql-gateway': 'org.apache.flink.table.gateway.SqlGateway',
  // The ZooKeeper server inside Flink's own shaded jar (what bin/start-zookeeper-quorum.sh runs, one node).
  'flink-zookeeper': 'org.apache.flink.shaded.zookeeper3.org.apache.zookeeper.server.ZooKeeperServerMain',
} as const;
type FlinkEngineName = keyof typeof MAIN_CLASS;

/** Ports of a managed cluster: FLINK_RPC_PORT and the next 12 (Flink's defaults would collide with another Flink). */
export function flinkPorts(config: Config) {
  const base = config.flink.rpcPort;
  return {
    rest: config.flink.restPort,
    gateway: config.flink.gatewayPort,
    jobManagerRpc: base,
    blob: base + 1,
    taskManagerRpc: base + 2,
    taskManagerData: base + 3,
    metrics: `${base + 4}-${base + 11}`,
    zookeeper: base + 12,
  };
}

/** The file of the job ids of earlier runs (a restarted cluster forgets them; their checkpoints stay on disk). */
export const flinkJobRunsFile = (config: Config) => join(flinkHome(config).home, 'job-runs.json');

/** Where the managed cluster keeps its configuration, checkpoints and savepoints: every entry is a folder. */
export function flinkHome(config: Config) {
  const home = join(config.dataDir, 'stack', 'flink');
  return {
    home,
    conf: join(home, 'conf'),
    checkpoints: join(home, 'checkpoints'),
    /** JobManager high availability: the job graphs and checkpoint pointers ZooKeeper points to. */
    ha: join(home, 'ha'),
    /** The ZooKeeper server's data (leader election and the pointers of the HA store). */
    zookeeper: join(home, 'zookeeper'),
    /** Compiled plans of the jobs (src/flink/jobs.ts): a redeploy submits the plan instead of planning the SQL again. */
    plans: join(home, 'plans'),

    savepoints: join(home, 'savepoints'),
    tmp: join(home, 'tmp'),
    upload: join(home, 'web-upload'),
  };
}

/**
 * Apache Flink as three engines of the stack — JobManager (REST + web UI), TaskManager, SQL gateway —
 * each its own JVM from the cached jars, sharing one generated config.yaml. The Kafka and JDBC
 * connectors are on every classpath (the JobManager runs the Kafka split enumerator).
 */
export function createFlinkEngines(config: Config, logger: Logger, version: string): Record<FlinkEngineName, Engine> {
  const paths = flinkHome(config);
  const ports = flinkPorts(config);
  const restExternal = config.flink.restExternal;
  const gatewayExternal = config.flink.gatewayExternal;
  const log4j = join(stackHome, 'config', 'log4j2-flink.properties');
  const opens = `@${join(stackHome, 'config', 'flink-java17-opens.args')}`;

  const spec = (name: FlinkEngineName, classpath: string[] = [], extra: Partial<JvmSpec> = {}): JvmSpec => ({
    name,
    dir: join(config.dataDir, 'stack', name),
    mainClass: MAIN_CLASS[name],
    classpath,
    // Flink's JDBC sink writes TIMESTAMP(3) values in the JVM's zone: UTC keeps them equal to the commit times.
    jvmOptions: [opens, '-Duser.timezone=UTC'],
    properties: { 'log4j.configurationFile': `file:${log4j}`, 'log.file': join(config.dataDir, 'stack', name, `${name}.log`) },
    args: [],
    ...extra,
  });
  const probes = {
    'flink-jobmanager': new JvmDaemon(spec('flink-jobmanager')),
    'flink-taskmanager': new JvmDaemon(spec('flink-taskmanager')),
    'flink-sql-gateway': new JvmDaemon(spec('flink-sql-gateway')),
    'flink-zookeeper': new JvmDaemon(spec('flink-zookeeper')),
  };
  const anyRunning = () =>
    Object.values(probes)
      .map((p) => p.pid())
      .find((pid) => pid !== undefined);

  /** Writes config.yaml, or refuses when a running process was started with different settings. */
  const ensureConfig = () => {
    const file = join(paths.conf, 'config.yaml');
    const wanted = configYaml(config, paths);
    const current = readIfExists(file);
    if (current === wanted) return;
    const running = anyRunning();
    if (running !== undefined && current !== undefined) {
      throw new AppError(
        'STACK_START_FAILED',
        `Flink (pid ${running}) is running with other settings (FLINK_* ports, memory or slots changed): run \`npx rtrec stack down\` first.`,
      );
    }
    for (const dir of Object.values(paths)) mkdirSync(dir, { recursive: true });
    writeFileSync(file, wanted);
    writeFileSync(join(paths.conf, 'zoo.cfg'), zooCfg(ports.zookeeper, paths.zookeeper));
  };

  const restHealth = async (): Promise<{ healthy: boolean; detail: string; taskManagers: number; version?: string }> => {
    try {
      const overview = (await getJson(`${config.flink.restUrl}/overview`)) as {
        taskmanagers: number;
        'slots-total': number;
        'jobs-running': number;
        'flink-version': string;
      };
      return {
        healthy: true,
        taskManagers: overview.taskmanagers,
        version: overview['flink-version'],
        detail: `${overview.taskmanagers} task manager(s), ${overview['slots-total']} slots, ${overview['jobs-running']} running job(s); web UI ${config.flink.restUrl}`,
      };
    } catch (error) {
      return { healthy: false, taskManagers: 0, detail: (error as Error).message };
    }
  };

  /** ZooKeeper's own liveness probe: `ruok` answered with `imok`. */
  const zookeeperHealth = async (): Promise<{ healthy: boolean; detail: string }> => {
    const answer = await fourLetterWord(ports.zookeeper, 'ruok').catch((error: Error) => error.message);
    return answer === 'imok'
      ? { healthy: true, detail: `JobManager high availability: leader election and job recovery (127.0.0.1:${ports.zookeeper})` }
      : { healthy: false, detail: answer || 'no answer to ruok' };
  };

  const gatewayHealth = async (): Promise<{ healthy: boolean; detail: string; version?: string }> => {
    try {
      const info = (await getJson(`${config.flink.gatewayUrl}/v1/info`)) as { productName: string; version: string };
      return { healthy: true, detail: `${info.productName} ${info.version} SQL gateway`, version: info.version };
    } catch (error) {
      return { healthy: false, detail: (error as Error).message };
    }
  };

  const base = (
    name: FlinkEngineName,
    external: boolean,
    dependsOn: EngineName[],
    portList: Record<string, number>,
    variables: { port: number; variable: string; what: string }[],
  ) => {
    const probe = probes[name];
    return {
      name,
      external,
      artifacts: ['flink', 'flink-connectors'],
      dependsOn,
      jvm: true,
      logFile: external ? undefined : probe.logFile,
      async preflight() {
        if (external || probe.pid() !== undefined) return;
        await assertPortsFree(variables);
      },
      async stop() {
        if (external) return { engine: name, stopped: [], forced: false };
        return { engine: name, ...(await probe.stop(30_000)) };
      },
      status: async (check: () => Promise<{ healthy: boolean; detail: string; version?: string }>): Promise<EngineStatus> => {
        const pid = external ? undefined : probe.pid();
        const checked = external || pid !== undefined ? await check() : { healthy: false, detail: 'not running', version: undefined };
        return {
          engine: name,
          mode: external ? 'external' : 'managed',
          running: pid !== undefined,
          healthy: checked.healthy,
          pid,
          ports: external ? {} : portList,
          endpoint: {
            'flink-sql-gateway': config.flink.gatewayUrl,
            'flink-jobmanager': config.flink.restUrl,
            'flink-taskmanager': `task manager of ${config.flink.restUrl}`,
            'flink-zookeeper': `127.0.0.1:${ports.zookeeper}`,
          }[name],
          address: {
            'flink-sql-gateway': `REST ${config.flink.gatewayUrl}/v1/info`,
            'flink-jobmanager': `web UI + REST ${config.flink.restUrl}`,
            'flink-taskmanager': `web UI ${config.flink.restUrl}/#/task-manager`,
            'flink-zookeeper': `ZooKeeper 127.0.0.1:${ports.zookeeper} (Flink's HA store; no client needed)`,
          }[name],
          version: checked.version ?? (external ? undefined : version),
          logFile: external ? undefined : probe.logFile,
          detail: checked.detail,
        };
      },
      probe,
    };
  };

  const classpath = (context: StartContext) => [context.artifacts.flink!.lib, context.artifacts['flink-connectors']!.lib];

  const zk = base('flink-zookeeper', restExternal, [], { client: ports.zookeeper }, [
    { port: ports.zookeeper, variable: 'FLINK_RPC_PORT', what: "ZooKeeper of Flink's high availability (FLINK_RPC_PORT + 12)" },
  ]);
  const jm = base('flink-jobmanager', restExternal, ['flink-zookeeper'], { rest: ports.rest, rpc: ports.jobManagerRpc, blob: ports.blob }, [
    { port: ports.rest, variable: 'FLINK_PORT', what: 'Flink REST / web UI' },
    { port: ports.jobManagerRpc, variable: 'FLINK_RPC_PORT', what: 'Flink JobManager RPC' },
    { port: ports.blob, variable: 'FLINK_RPC_PORT', what: 'Flink blob server (FLINK_RPC_PORT + 1)' },
  ]);
  const tm = base('flink-taskmanager', restExternal, ['flink-jobmanager'], { rpc: ports.taskManagerRpc, data: ports.taskManagerData }, [
    { port: ports.taskManagerRpc, variable: 'FLINK_RPC_PORT', what: 'Flink TaskManager RPC (FLINK_RPC_PORT + 2)' },
    { port: ports.taskManagerData, variable: 'FLINK_RPC_PORT', what: 'Flink TaskManager data (FLINK_RPC_PORT + 3)' },
  ]);
  const gw = base('flink-sql-gateway', gatewayExternal, restExternal ? [] : ['flink-jobmanager'], { rest: ports.gateway }, [
    { port: ports.gateway, variable: 'FLINK_SQL_GATEWAY_PORT', what: 'Flink SQL gateway REST' },
  ]);

  /** The start of every Flink process: config, preflight, the JVM (unless running), then its readiness check. */
  const launch = async (
    engine: typeof jm,
    context: StartContext,
    options: { label: string; what: string; log: Record<string, unknown>; spec: () => Promise<Partial<JvmSpec>>; ready: () => Promise<boolean> },
  ): Promise<StartOutcome> => {
    if (engine.external) return 'external';
    ensureConfig();
    const running = engine.probe.pid();
    if (running === undefined) await engine.preflight();
    const daemon = new JvmDaemon(
      spec(engine.name, classpath(context), { classData: context.classData, ...(running === undefined ? await options.spec() : {}) }),
    );
    const pid = running ?? daemon.start();
    if (running === undefined) logger.info({ engine: engine.name, pid, ...options.log }, `${options.label} starting`);
    await waitUntil(options.ready, { what: options.what, pid, logFile: daemon.logFile, timeoutMs: 180_000 });
    return running === undefined ? 'started' : 'already running';
  };
  /** JobManager and TaskManager: memory flags from Flink's own calculation, config dir on the command line. */
  const clusterSpec = (context: StartContext, command: 'GET_JM_RESOURCE_PARAMS' | 'GET_TM_RESOURCE_PARAMS') => async (): Promise<Partial<JvmSpec>> => {
    const [memory, dynamic] = await memoryParameters(context.artifacts.flink!.lib, command, paths.conf);
    return { memoryOptions: memory, args: ['--configDir', paths.conf, ...dynamic] };
  };

  return {
    'flink-zookeeper': {
      ...zk,
      start: (context) =>
        launch(zk, context, {
          label: 'ZooKeeper (Flink high availability)',
          what: 'ZooKeeper',
          log: { port: ports.zookeeper },
          spec: async () => ({ heap: '96m', args: [join(paths.conf, 'zoo.cfg')] }),
          ready: async () => (await zookeeperHealth()).healthy,
        }),
      status: () => zk.status(zookeeperHealth),
    },
    'flink-jobmanager': {
      ...jm,
      start: (context) =>
        launch(jm, context, {
          label: 'Flink JobManager',
          what: 'Flink JobManager',
          log: { port: ports.rest },
          spec: clusterSpec(context, 'GET_JM_RESOURCE_PARAMS'),
          ready: async () => (await restHealth()).healthy,
        }),
      status: () => jm.status(restHealth),
    },
    'flink-taskmanager': {
      ...tm,
      start: (context) =>
        launch(tm, context, {
          label: 'Flink TaskManager',
          what: 'Flink TaskManager (registration with the JobManager)',
          log: { slots: config.flink.slots },
          spec: clusterSpec(context, 'GET_TM_RESOURCE_PARAMS'),
          ready: async () => (await restHealth()).taskManagers > 0,
        }),
      status: () =>
        tm.status(async () => {
          const checked = await restHealth();
          return checked.healthy && checked.taskManagers === 0 ? { healthy: false, detail: 'not registered with the JobManager' } : checked;
        }),
    },
    'flink-sql-gateway': {
      ...gw,
      start: (context) =>
        launch(gw, context, {
          label: 'Flink SQL gateway',
          what: 'Flink SQL gateway',
          log: { port: ports.gateway },
          // The gateway has no --configDir: it reads $FLINK_CONF_DIR/config.yaml.
          spec: async () => ({ heap: config.flink.gatewayHeap, env: { FLINK_CONF_DIR: paths.conf } }),
          ready: async () => (await gatewayHealth()).healthy,
        }),
      status: () => gw.status(gatewayHealth),
    },
  };
}

/**
 * zoo.cfg of the one-node ZooKeeper behind Flink's JobManager high availability: loopback only, no admin server,
 * and a short tick, so that the session of a JobManager that was killed expires within seconds (Flink asks for
 * high-availability.zookeeper.client.session-timeout, bounded by 2 and 20 ticks).
 */
function zooCfg(port: number, dataDir: string): string {
  return `# Written by \`rtrec stack up\` on every start; edits are overwritten.
tickTime=500
dataDir=${dataDir}
clientPort=${port}
clientPortAddress=127.0.0.1
maxClientCnxns=60
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
`;
}

/** Sends one of ZooKeeper's four-letter commands and returns its answer. */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(word));
    let answer = '';
    socket.setTimeout(3000, () => socket.destroy(new Error(`ZooKeeper on 127.0.0.1:${port} did not answer ${word} in 3 s`)));
    socket.on('data', (chunk) => (answer += String(chunk)));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.trim()));
  });
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new Error(`GET ${url} → ${response.status}`);
  return response.json();
}

/**
 * JVM flags and dynamic properties for Flink's memory model, computed by Flink's own BashJavaUtils from
 * config.yaml (what bin/jobmanager.sh and bin/taskmanager.sh do): the heap, direct and metaspace sizes
 * follow from `*.memory.process.size`, so FLINK_JM_MEMORY / FLINK_TM_MEMORY are the only knobs.
 */
async function memoryParameters(lib: string, command: 'GET_JM_RESOURCE_PARAMS' | 'GET_TM_RESOURCE_PARAMS', confDir: string): Promise<[string[], string[]]> {
  // The answer depends only on config.yaml and the jars: kept beside the config, so that a JobManager or TaskManager
  // restarted after a crash does not wait for one more JVM (2–4 s on a loaded machine) before its own starts.
  const key = createHash('sha256')
    .update(`${command}\n${lib}\n${readIfExists(join(confDir, 'config.yaml')) ?? ''}`)
    .digest('hex');
  const cacheFile = join(confDir, `${command.toLowerCase()}.json`);
  try {
    const cached = JSON.parse(readIfExists(cacheFile) ?? 'null') as { key: string; jvm: string[]; dynamic: string[] } | null;
    if (cached?.key === key) return [cached.jvm, cached.dynamic];
  } catch {
    // computed again below
  }
  const [jvm, dynamic] = await computeMemoryParameters(lib, command, confDir);
  writeFileSync(cacheFile, `${JSON.stringify({ key, jvm, dynamic })}\n`);
  return [jvm, dynamic];
}

async function computeMemoryParameters(
  lib: string,
  command: 'GET_JM_RESOURCE_PARAMS' | 'GET_TM_RESOURCE_PARAMS',
  confDir: string,
): Promise<[string[], string[]]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(
      'java',
      ['-Xmx128m', '-cp', join(lib, '*'), 'org.apache.flink.runtime.util.bash.BashJavaUtils', command, '--configDir', confDir],
      { timeout: 120_000 },
    ));
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
    throw new AppError(
      'STACK_START_FAILED',
      `Flink could not compute its memory layout (${command}): ${output.split('\n').find((l) => /Exception|rror/.test(l)) ?? (error as Error).message}\nCheck FLINK_JM_MEMORY / FLINK_TM_MEMORY (e.g. 768m and 1024m).`,
    );
  }
  const results = stdout
    .split('\n')
    .filter((l) => l.startsWith('BASH_JAVA_UTILS_EXEC_RESULT:'))
    .map((l) => l.slice('BASH_JAVA_UTILS_EXEC_RESULT:'.length).trim());
  if (results.length < 2) throw new AppError('STACK_START_FAILED', `Unexpected output of Flink's BashJavaUtils ${command}:\n${stdout.slice(-2000)}`);
  const jvm = results[0]!.split(/\s+/).filter(Boolean);
  // "-D key=value -D key=value": keep the pairs as separate argv elements, as the shell scripts do.
  const dynamic = results[1]!.split(/\s+/).filter(Boolean);
  return [jvm, dynamic];
}

/** config.yaml of the managed cluster: loopback only, explicit ports, bounded restarts, local checkpoints. */
function configYaml(config: Config, paths: ReturnType<typeof flinkHome>): string {
  const ports = flinkPorts(config);
  const rest = new URL(config.flink.restUrl);
  return `# Written by \`rtrec stack up\` from the FLINK_* variables on every start; edits are overwritten.
# Flink 1.20 session cluster + SQL gateway on loopback; every port explicit so another Flink on the machine does not collide.
jobmanager:
  rpc:
    address: 127.0.0.1
    port: ${ports.jobManagerRpc}
  bind-host: 127.0.0.1
  memory:
    process:
      size: ${config.flink.jobManagerMemory}
  execution:
    failover-strategy: region
taskmanager:
  host: 127.0.0.1
  bind-host: 127.0.0.1
  rpc:
    port: ${ports.taskManagerRpc}
  data:
    port: ${ports.taskManagerData}
  numberOfTaskSlots: ${config.flink.slots}
  # A slot a JobMaster has not taken within this time is freed. Flink's 10 s made restarted jobs on a restarted
  # TaskManager fail once more ("has no more allocated slots"), when one JobManager restores five jobs at once.
  slot:
    timeout: 60 s
  memory:
    process:
      size: ${config.flink.taskManagerMemory}
    # Heap state backend, but window aggregation and window Top-N buffer in managed memory, split among slots.
    managed:
      fraction: 0.25
blob:
  server:
    port: ${ports.blob}
rest:
  address: ${rest.hostname}
  bind-address: 127.0.0.1
  port: ${rest.port || (rest.protocol === 'https:' ? 443 : 80)}
web:
  upload:
    dir: ${paths.upload}
io:
  tmp:
    dirs: ${paths.tmp}
parallelism:
  default: 1
# A TaskManager that died is declared lost by the JobManager after two failed heartbeat RPCs, so the interval
# bounds how long jobs wait before they fail over after a crash (10 s by default: 20 s of standstill). The timeout
# only decides about a process that is alive but silent: a TaskManager restarted under load (restoring five jobs'
# ~90 tasks on a saturated 2-core machine) left its heartbeats and task submissions unanswered for 15 s in the long
# soak, and both timeouts at 10-15 s failed its jobs over a second time (+15 s); a JobManager's death reaches the
# TaskManager through the HA leader election, not this timeout. Both at 30 s.
heartbeat:
  interval: 2 s
  timeout: 30 s
pekko:
  ask:
    timeout: 30 s
# A TaskManager whose JobManager died retries its registration every second (10 s by default), so jobs
# redeployed on a restarted JobManager find their slots sooner.
cluster:
  registration:
    error-delay: 1 s
# JobManager high availability through the stack's ZooKeeper: a JobManager that dies is restarted by the stack and
# takes its jobs back (their graphs and latest checkpoints) from the HA store, and the TaskManager finds it through
# ZooKeeper at once. The short session lets the new JobManager win the leadership seconds after the old one died.
high-availability:
  type: zookeeper
  storageDir: file://${paths.ha}
  cluster-id: /rtrec
  jobmanager:
    port: ${ports.jobManagerRpc}
  zookeeper:
    quorum: 127.0.0.1:${ports.zookeeper}
    path:
      root: /flink
    client:
      session-timeout: 6 s
      connection-timeout: 5 s
      retry-wait: 1 s
# With checkpointing on, Flink's default restarts forever; a broken job should fail visibly instead: more than 10
# failures within 5 minutes fails it. A count over the job's whole life (fixed-delay) failed healthy jobs after a few
# database restarts (in the soak: at the fourth kill -9 of PostgreSQL); the soak also redeploys a job that failed.
restart-strategy:
  type: failure-rate
  failure-rate:
    max-failures-per-interval: 10
    failure-rate-interval: 5 min
    delay: 2 s
state:
  backend:
    type: hashmap
execution:
  checkpointing:
    interval: 5s
    mode: EXACTLY_ONCE
    dir: file://${paths.checkpoints}
    savepoint-dir: file://${paths.savepoints}
    externalized-checkpoint-retention: RETAIN_ON_CANCELLATION
    num-retained: 2
  runtime-mode: streaming
sql-gateway:
  endpoint:
    rest:
      address: 127.0.0.1
      bind-address: 127.0.0.1
      port: ${ports.gateway}
  session:
    idle-timeout: 30 min
metrics:
  internal:
    query-service:
      port: "${ports.metrics}"
`;
}
