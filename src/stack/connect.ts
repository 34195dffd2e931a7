import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertPortsFree, readIfExists, waitUntil } from '../common/process.js';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Engine, EngineStatus, StartContext } from './engine.js';
import { type ClassData, JvmDaemon } from './jvm.js';
import { describeCluster } from './kafka.js';
import { stackHome } from './manifest.js';

/** The connector class the platform's CDC needs; Connect is only healthy when it can load it. */
export const DEBEZIUM_POSTGRES_CONNECTOR = 'io.debezium.connector.postgresql.PostgresConnector';

/** Kafka Connect in distributed mode, with Debezium's PostgreSQL connector on its plugin path. */
export function createConnectEngine(config: Config, logger: Logger, version: string): Engine {
  const dir = join(config.dataDir, 'stack', 'connect');
  const { port } = config.connect;
  const daemon = (classpath: string[] = [], classData?: ClassData) =>
    new JvmDaemon({
      name: 'connect',
      dir,
      mainClass: 'org.apache.kafka.connect.cli.ConnectDistributed',
      classpath,
      classData,
      heap: config.connect.heap,
      properties: { 'log4j2.configurationFile': join(stackHome, 'config', 'log4j2-engine.properties') },
      args: [join(dir, 'worker.properties')],
    });
  const probe = daemon();
  const portsToCheck = [{ port, variable: 'CONNECT_PORT', what: 'Kafka Connect REST' }];

  const health = async (): Promise<{ healthy: boolean; detail: string; version?: string }> => {
    try {
      const plugins = await connectorPlugins(config.connect.url);
      const debezium = plugins.find((p) => p.class === DEBEZIUM_POSTGRES_CONNECTOR);
      return debezium
        ? { healthy: true, detail: `Debezium PostgresConnector ${debezium.version}`, version: debezium.version }
        : { healthy: false, detail: `REST answers, but ${DEBEZIUM_POSTGRES_CONNECTOR} is not among its ${plugins.length} plugin(s)` };
    } catch (error) {
      return { healthy: false, detail: (error as Error).message };
    }
  };

  return {
    name: 'connect',
    external: config.connect.external,
    artifacts: ['connect', 'debezium-postgres'],
    dependsOn: ['kafka'],
    jvm: true,
    logFile: config.connect.external ? undefined : probe.logFile,

    async preflight() {
      if (config.connect.external || probe.pid() !== undefined) return;
      await assertPortsFree(portsToCheck);
    },

    async start(context: StartContext) {
      if (config.connect.external) return 'external';
      const engine = daemon([context.artifacts.connect!.lib], context.classData);
      const running = engine.pid();
      const properties = workerProperties(config, context.artifacts['debezium-postgres']!.dir);
      if (running !== undefined && readIfExists(join(dir, 'worker.properties')) !== properties) {
        throw new AppError(
          'STACK_START_FAILED',
          `Kafka Connect (pid ${running}) is running with other settings (CONNECT_PORT, KAFKA_BROKERS or plugins changed): run \`npx rtrec stack down\` first.`,
        );
      }
      if (running === undefined) {
        await assertPortsFree(portsToCheck);
        // A worker without its Kafka keeps retrying silently; say so now instead of after the health timeout.
        await describeCluster(config.kafka.brokers).catch((error: Error) => {
          throw new AppError(
            'KAFKA_UNAVAILABLE',
            `Kafka Connect needs Kafka, which does not answer at ${config.kafka.brokers.join(',')} (${error.message}). Check KAFKA_BROKERS, or unset it to let the stack start one.`,
          );
        });
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'worker.properties'), properties);
      }
      const pid = running ?? engine.start();
      if (running === undefined) logger.info({ engine: 'connect', pid, port }, 'Kafka Connect worker starting');
      await waitUntil(async () => (await health()).healthy, { what: 'Kafka Connect', pid, logFile: engine.logFile, timeoutMs: 180_000 });
      return running === undefined ? 'started' : 'already running';
    },

    async stop() {
      if (config.connect.external) return { engine: 'connect', stopped: [], forced: false };
      return { engine: 'connect', ...(await probe.stop(30_000)) };
    },

    async status(): Promise<EngineStatus> {
      const pid = config.connect.external ? undefined : probe.pid();
      const checked = config.connect.external || pid !== undefined ? await health() : { healthy: false, detail: 'not running', version: undefined };
      return {
        engine: 'connect',
        mode: config.connect.external ? 'external' : 'managed',
        running: pid !== undefined,
        healthy: checked.healthy,
        pid,
        ports: config.connect.external ? {} : { rest: port },
        endpoint: config.connect.url,
        address: `REST ${config.connect.url}/connectors`,
        version: config.connect.external ? checked.version : version,
        logFile: config.connect.external ? undefined : probe.logFile,
        detail: checked.detail,
      };
    },
  };
}

/** `GET /connector-plugins` of a Connect worker. */
export async function connectorPlugins(url: string): Promise<{ class: string; type: string; version: string }[]> {
  const response = await fetch(`${url}/connector-plugins`, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new Error(`GET ${url}/connector-plugins → ${response.status}`);
  return (await response.json()) as { class: string; type: string; version: string }[];
}

/**
 * The worker's settings. Internal topics and the group id carry an `rtrec-` prefix so a managed worker
 * can share an external Kafka (KAFKA_BROKERS) with other Connect clusters.
 */
function workerProperties(config: Config, pluginDir: string): string {
  return `# Written by \`rtrec stack up\` on every start; edits are overwritten.
# Kafka Connect distributed worker, REST on loopback only.
bootstrap.servers=${config.kafka.brokers.join(',')}
group.id=rtrec-connect
listeners=http://127.0.0.1:${config.connect.port}
rest.advertised.host.name=127.0.0.1
rest.advertised.port=${config.connect.port}
# Worker defaults; the connector configuration overrides them anyway.
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
config.storage.topic=rtrec-connect-configs
offset.storage.topic=rtrec-connect-offsets
status.storage.topic=rtrec-connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=1
status.storage.partitions=1
# Commit source offsets every second (default 60 s): fewer duplicates after a crash.
offset.flush.interval.ms=1000
# After a Kafka restart the worker may have to join its group as a new member (UNKNOWN_MEMBER_ID); its old member's
# connector and task then count as "lost", and Connect waits scheduled.rebalance.max.delay.ms (5 min) for that
# member to come back before it assigns them again: a soak saw Debezium stop for 7 minutes after one kill -9 of
# Kafka. One worker per cluster here, so nobody else could take them over: assign them at once (KAFKA-15693). A
# join also waits rebalance.timeout.ms for every member the coordinator still knows (60 s, twice in that soak, for
# the worker's own earlier attempts): 20 s is ample for one worker to stop its task (5 s graceful timeout).
scheduled.rebalance.max.delay.ms=0
rebalance.timeout.ms=20000
# Source tasks' producers send one request at a time per broker (Connect's max.in.flight=1 keeps the order), each
# with up to batch.size bytes per partition: 16 KB, about ten changes, made Debezium's catch-up after a Kafka restart
# slow. Larger batches form only when records queue up, so steady-state latency is unchanged.
producer.batch.size=262144
# Plugins live outside the worker classpath, each in its own sub-directory of a plugin.path entry.
plugin.path=${pluginDir}
# Only read service-loader manifests (Debezium 3 ships them): faster start than scanning classes.
plugin.discovery=service_load
topic.creation.enable=true
# Connector configs may reference secrets in files (\${file:<path>:<key>}): the connector's database password
# is such a reference, so neither the REST API nor the config topic holds it.
config.providers=file
config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
`;
}
