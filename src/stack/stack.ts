import { join } from 'node:path';
import { portOpen, tail } from '../common/process.js';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { type ResolvedArtifacts, resolveArtifacts } from './artifacts.js';
import { createConnectEngine } from './connect.js';
import { ENGINE_NAMES, type Engine, type EngineName, type EngineStatus, isEngineName, type StopOutcome } from './engine.js';
import { createFlinkEngines } from './flink.js';
import { checkJava } from './java.js';
import { createKafkaEngine } from './kafka.js';
import { withLock } from './lock.js';
import { artifactSet, loadManifest } from './manifest.js';
import { createPostgresEngine } from './postgres.js';
import { type Progress, stderrProgress } from './progress.js';

export type { EngineName, EngineStatus, StopOutcome } from './engine.js';
export { ENGINE_NAMES } from './engine.js';

export interface StackUpOptions {
  /** Engines to bring up (their dependencies come too); all by default. */
  engines?: EngineName[];
}

export interface UpResult {
  engine: EngineName;
  outcome: 'started' | 'already running' | 'external';
  /** Time spent on this engine's start (or health wait), in ms. */
  ms: number;
}

export interface Stack {
  /** Fetches missing jars (once per user), then starts what is not running, in dependency order. Idempotent. */
  up(options?: StackUpOptions): Promise<UpResult[]>;
  /**
   * Stops every engine the stack started, newest first, and verifies that no process is left and no port
   * still open. An embedded PostgreSQL started by `rtrec db start` is left running (see `leftRunning`).
   */
  down(): Promise<StopOutcome[]>;
  /** Health, pid and ports of every engine (external ones included). */
  status(): Promise<EngineStatus[]>;
  /** The last `lines` lines of a managed engine's log; BAD_USER_INPUT for unknown or external engines. */
  logs(engine: string, lines?: number): string[];
  /** Path of a managed engine's log file (for `logs --follow`). */
  logFile(engine: string): string;
}

export interface StackDependencies {
  /** Where download progress goes; stderr by default. */
  progress?: Progress;
}

/** Builds the stack of engines for this configuration. Nothing starts until `up`. */
export function createStack(config: Config, logger: Logger, deps: StackDependencies = {}): Stack {
  const manifest = loadManifest();
  const progress = deps.progress ?? stderrProgress();
  const engines: Record<EngineName, Engine> = {
    postgres: createPostgresEngine(config, logger),
    kafka: createKafkaEngine(config, logger, artifactSet(manifest, 'kafka').version),
    connect: createConnectEngine(config, logger, artifactSet(manifest, 'connect').version),
    ...createFlinkEngines(config, logger, artifactSet(manifest, 'flink').version),
  };
  const ordered = ENGINE_NAMES.map((name) => engines[name]);
  const stackLock = join(config.dataDir, 'stack', 'stack.lock');

  const managedEngine = (name: string): Engine => {
    if (!isEngineName(name)) throw new AppError('BAD_USER_INPUT', `Unknown engine '${name}': choose one of ${ENGINE_NAMES.join(', ')}.`);
    const engine = engines[name];
    if (engine.external || !engine.logFile) {
      throw new AppError(
        'BAD_USER_INPUT',
        `${name} is an external service (${externalVariable(name)} is set): its logs are wherever that service writes them.`,
      );
    }
    return engine;
  };

  return {
    async up(options = {}) {
      const wanted = withDependencies(options.engines ?? [...ENGINE_NAMES], engines);
      const selected = ordered.filter((e) => wanted.has(e.name));
      const managed = selected.filter((e) => !e.external);
      // Fail before anything starts or downloads: a half-started stack is worse than none.
      for (const engine of managed) await engine.preflight();
      const java = managed.some((e) => e.jvm) ? await checkJava() : undefined;
      const classData = java?.hotspot ? { dir: join(config.engineCache, 'class-data'), build: java.build } : undefined;
      const sets = [...new Set(managed.flatMap((e) => e.artifacts))].map((name) => artifactSet(manifest, name));
      const artifacts = await resolveArtifacts(sets, { cacheDir: config.engineCache, manifest, logger, progress });
      return withLock(
        stackLock,
        'starting the stack',
        logger,
        async () => {
          const results: UpResult[] = [];
          for (const engine of selected) {
            const started = Date.now();
            const outcome = await engine.start({ artifacts: pick(artifacts, engine.artifacts), classData });
            results.push({ engine: engine.name, outcome, ms: Date.now() - started });
          }
          return results;
        },
        5 * 60_000,
      );
    },

    async down() {
      return withLock(
        stackLock,
        'stopping the stack',
        logger,
        async () => {
          const outcomes: StopOutcome[] = [];
          for (const engine of [...ordered].reverse()) {
            if (engine.external) continue;
            const outcome = await engine.stop();
            outcomes.push(outcome);
            if (outcome.leftRunning) continue;
            // A process killed under load may hold its listening sockets a moment longer (until it is reaped):
            // give the ports up to 10 s to close before calling it a failure.
            let status = await engine.status();
            let open: number[] = [];
            for (let waited = 0; ; waited += 250) {
              open = [];
              for (const port of Object.values(status.ports)) if (await portOpen(port)) open.push(port);
              if ((!status.running && open.length === 0) || waited >= 10_000) break;
              await new Promise((resolve) => setTimeout(resolve, 250));
              status = await engine.status();
            }
            if (status.running || open.length > 0) {
              throw new AppError(
                'STACK_START_FAILED',
                `${engine.name} is still ${status.running ? `running (pid ${status.pid})` : `answering on port ${open.join(', ')}`} after stop; see ${engine.logFile}.`,
              );
            }
          }
          return outcomes;
        },
        5 * 60_000,
      );
    },

    async status() {
      return Promise.all(ordered.map((engine) => engine.status()));
    },

    logs(engine, lines = 50) {
      return tail(managedEngine(engine).logFile!, lines);
    },

    logFile(engine) {
      return managedEngine(engine).logFile!;
    },
  };
}

/**
 * Brings up only what a command needs — e.g. `{ kafka: true, connect: false }` for a consumer — and
 * leaves external services alone: for them this is a no-op, and reaching them is the caller's business.
 */
export async function ensureStack(
  config: Config,
  logger: Logger,
  needs: { kafka: boolean; connect: boolean; postgres?: boolean; flink?: boolean },
  deps: StackDependencies = {},
): Promise<UpResult[]> {
  const engines = ENGINE_NAMES.filter((name) => (name.startsWith('flink-') ? needs.flink === true : needs[name as 'kafka' | 'connect' | 'postgres'] === true));
  const local = engines.filter((name) => !isExternal(config, name));
  if (local.length === 0) return engines.map((engine) => ({ engine, outcome: 'external', ms: 0 }));
  return createStack(config, logger, deps).up({ engines: local });
}

function isExternal(config: Config, name: EngineName): boolean {
  return {
    postgres: config.databaseUrl !== undefined,
    kafka: config.kafka.external,
    connect: config.connect.external,
    'flink-zookeeper': config.flink.restExternal,
    'flink-jobmanager': config.flink.restExternal,
    'flink-taskmanager': config.flink.restExternal,
    'flink-sql-gateway': config.flink.gatewayExternal,
  }[name];
}

function externalVariable(name: EngineName): string {
  return {
    postgres: 'DATABASE_URL',
    kafka: 'KAFKA_BROKERS',
    connect: 'CONNECT_URL',
    'flink-zookeeper': 'FLINK_REST_URL',
    'flink-jobmanager': 'FLINK_REST_URL',
    'flink-taskmanager': 'FLINK_REST_URL',
    'flink-sql-gateway': 'FLINK_SQL_GATEWAY_URL',
  }[name];
}

/** The requested engines plus everything they depend on (a managed Connect needs a Kafka). */
function withDependencies(requested: EngineName[], engines: Record<EngineName, Engine>): Set<EngineName> {
  const result = new Set<EngineName>();
  const visit = (name: EngineName) => {
    if (result.has(name)) return;
    result.add(name);
    if (!engines[name].external) engines[name].dependsOn.forEach(visit);
  };
  requested.forEach(visit);
  return result;
}

function pick(artifacts: Record<string, ResolvedArtifacts>, names: readonly string[]): Record<string, ResolvedArtifacts> {
  return Object.fromEntries(names.map((name) => [name, artifacts[name]!]));
}
