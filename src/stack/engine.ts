import type { ResolvedArtifacts } from './artifacts.js';
import type { ClassData } from './jvm.js';

/**
 * The engines `rtrec stack` supervises, in start order (stop order is the reverse). A new engine is one
 * more name here and one more factory in stack.ts implementing `Engine`.
 */
export const ENGINE_NAMES = ['postgres', 'kafka', 'connect', 'flink-zookeeper', 'flink-jobmanager', 'flink-taskmanager', 'flink-sql-gateway'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export function isEngineName(name: string): name is EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(name);
}

/** What `status` reports per engine (also the `--json` shape). */
export interface EngineStatus {
  engine: EngineName;
  /** `managed`: started by the stack; `external`: configured by URL (DATABASE_URL, KAFKA_BROKERS, CONNECT_URL, FLINK_REST_URL, FLINK_SQL_GATEWAY_URL). */
  mode: 'managed' | 'external';
  /** A managed process is alive (always false for external engines). */
  running: boolean;
  /** The engine answers its health check. */
  healthy: boolean;
  pid?: number;
  ports: Record<string, number>;
  endpoint: string;
  /**
   * Where a person reaches it, with what answers there: the web UI or REST API of the JVM engines, the bootstrap
   * address of Kafka, the connection address of PostgreSQL (never with a password).
   */
  address: string;
  version?: string;
  logFile?: string;
  /** Why it is not healthy, or what the health check saw. */
  detail?: string;
}

export interface StartContext {
  /** Resolved jar sets by name (only those the engine declared in `artifacts`). */
  artifacts: Record<string, ResolvedArtifacts>;
  /** Class-data sharing for the JVM engines (jvm.ts), when the JVM supports it. */
  classData?: ClassData;
}

export type StartOutcome = 'started' | 'already running' | 'external';

export interface StopOutcome {
  engine: EngineName;
  /** Pids that were running and are now gone. */
  stopped: number[];
  /** Some process needed SIGKILL. */
  forced: boolean;
  /** Set when the engine was deliberately left running, with the reason (it was not started by the stack). */
  leftRunning?: string;
}

export interface Engine {
  readonly name: EngineName;
  readonly external: boolean;
  /** Artifact sets (stack/engines.json) that must be in the cache before `start`. */
  readonly artifacts: readonly string[];
  /** Engines that must be healthy before this one starts. */
  readonly dependsOn: readonly EngineName[];
  /** Whether it runs on the JVM (the stack then checks for Java 17+ first). */
  readonly jvm: boolean;
  readonly logFile: string | undefined;
  /** Checks, before anything starts, what would make `start` fail (ports taken by other processes). */
  preflight(): Promise<void>;
  /** Idempotent: waits for health and returns 'already running' when it is up. */
  start(context: StartContext): Promise<StartOutcome>;
  /** Stops every process of this engine and verifies that none is left. */
  stop(): Promise<StopOutcome>;
  status(): Promise<EngineStatus>;
}
