import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { assertPortsFree, portOpen, readIfExists, waitUntil } from '../common/process.js';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Engine, EngineStatus, StartContext } from './engine.js';
import { type ClassData, JvmDaemon } from './jvm.js';
import { stackHome } from './manifest.js';

const execFileAsync = promisify(execFile);

/** Apache Kafka, one KRaft node that is both broker and controller, on 127.0.0.1 only. */
export function createKafkaEngine(config: Config, logger: Logger, version: string): Engine {
  const dir = join(config.dataDir, 'stack', 'kafka');
  const logDir = join(dir, 'data');
  const { port, controllerPort } = config.kafka;
  const ports = { broker: port, controller: controllerPort };
  const endpoint = config.kafka.brokers.join(',');
  const daemon = (libs: string[] = [], classData?: ClassData) =>
    new JvmDaemon({
      name: 'kafka',
      dir,
      mainClass: 'kafka.Kafka',
      classpath: libs,
      classData,
      heap: config.kafka.heap,
      properties: { 'log4j2.configurationFile': join(stackHome, 'config', 'log4j2-engine.properties') },
      args: [join(dir, 'server.properties')],
    });
  const probe = daemon();
  const portsToCheck = [
    { port, variable: 'KAFKA_PORT', what: 'Kafka broker' },
    { port: controllerPort, variable: 'KAFKA_CONTROLLER_PORT', what: 'Kafka controller' },
  ];

  const health = async (): Promise<{ healthy: boolean; detail: string }> => {
    if (!config.kafka.external && !(await portOpen(port))) return { healthy: false, detail: `nothing listens on ${port}` };
    try {
      const cluster = await describeCluster(config.kafka.brokers);
      return { healthy: true, detail: `cluster ${cluster.clusterId}, ${cluster.brokers} broker(s)` };
    } catch (error) {
      return { healthy: false, detail: (error as Error).message };
    }
  };

  return {
    name: 'kafka',
    external: config.kafka.external,
    artifacts: ['kafka'],
    dependsOn: [],
    jvm: true,
    logFile: config.kafka.external ? undefined : probe.logFile,

    async preflight() {
      if (config.kafka.external || probe.pid() !== undefined) return;
      await assertPortsFree(portsToCheck);
    },

    async start(context: StartContext) {
      if (config.kafka.external) return 'external';
      const libs = [context.artifacts.kafka!.lib];
      const engine = daemon(libs, context.classData);
      const running = engine.pid();
      const properties = serverProperties(port, controllerPort, logDir);
      if (running !== undefined && readIfExists(join(dir, 'server.properties')) !== properties) {
        throw new AppError(
          'STACK_START_FAILED',
          `Kafka (pid ${running}) is running with other settings than KAFKA_PORT=${port} / KAFKA_CONTROLLER_PORT=${controllerPort}: run \`npx rtrec stack down\` first.`,
        );
      }
      if (running === undefined) {
        await assertPortsFree(portsToCheck);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'server.properties'), properties);
        await formatStorage(libs[0]!, dir, logDir, logger);
      }
      const pid = running ?? engine.start();
      if (running === undefined) logger.info({ engine: 'kafka', pid, port }, 'Kafka broker starting');
      await waitUntil(async () => (await health()).healthy, { what: 'Kafka broker', pid, logFile: engine.logFile, timeoutMs: 120_000 });
      return running === undefined ? 'started' : 'already running';
    },

    async stop() {
      if (config.kafka.external) return { engine: 'kafka', stopped: [], forced: false };
      // A broker flushes and closes its logs on SIGTERM; give it time before a SIGKILL risks log recovery.
      return { engine: 'kafka', ...(await probe.stop(60_000)) };
    },

    async status(): Promise<EngineStatus> {
      const pid = config.kafka.external ? undefined : probe.pid();
      const { healthy, detail } = config.kafka.external || pid !== undefined ? await health() : { healthy: false, detail: 'not running' };
      return {
        engine: 'kafka',
        mode: config.kafka.external ? 'external' : 'managed',
        running: pid !== undefined,
        healthy,
        pid,
        ports: config.kafka.external ? {} : ports,
        endpoint,
        address: `bootstrap ${endpoint}`,
        version: config.kafka.external ? undefined : version,
        logFile: config.kafka.external ? undefined : probe.logFile,
        detail,
      };
    },
  };
}

/** Cluster id and broker count through the Kafka protocol itself: a listening port is not yet a working broker. */
export async function describeCluster(brokers: string[]): Promise<{ clusterId: string; brokers: number }> {
  const kafka = new Kafka({
    clientId: 'rtrec-stack',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { clusterId: cluster.clusterId, brokers: cluster.brokers.length };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** KRaft needs its storage formatted with a cluster id before the first start; later starts reuse it. */
async function formatStorage(lib: string, dir: string, logDir: string, logger: Logger): Promise<void> {
  if (existsSync(join(logDir, 'meta.properties'))) return;
  const clusterId = randomClusterId();
  const args = [
    '-Xmx128m',
    `-Dlog4j2.configurationFile=${join(stackHome, 'config', 'log4j2-tools.properties')}`,
    '-cp',
    join(lib, '*'),
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    join(dir, 'server.properties'),
  ];
  try {
    await execFileAsync('java', args, { cwd: dir, timeout: 120_000 });
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`.trim();
    throw new AppError(
      'STACK_START_FAILED',
      `Formatting Kafka's KRaft storage in ${logDir} failed: ${output || (error as Error).message}\nDelete ${logDir} to start from an empty broker.`,
    );
  }
  logger.info({ engine: 'kafka', clusterId, logDir }, 'KRaft storage formatted');
}

/**
 * Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding (what `StorageTool
 * random-uuid` prints); made here to save a JVM start. Ids starting with '-' are avoided, as Kafka does,
 * because they read as command-line flags.
 */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(port: number, controllerPort: number, logDir: string): string {
  return `# Written by \`rtrec stack up\` on every start from KAFKA_PORT / KAFKA_CONTROLLER_PORT; edits are overwritten.
# Kafka 4 KRaft, one node that is broker and controller, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${logDir}
num.partitions=1
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
# Single node: every internal topic must have replication factor 1.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
# After a crash the restarted controller still holds the dead broker's session and refuses its registration
# (DuplicateBrokerRegistrationException) until the session expires: 9 s by default, measured as 10 of a 13.6 s
# restart. One node heartbeats to itself, so a short session is safe; the heartbeat interval must stay below it.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
auto.create.topics.enable=true
log.retention.hours=168
log.segment.bytes=67108864
`;
}
