import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clearStalePidFile, findProcesses, isAlive, readPidFile, spawnDetached, terminate } from '../common/process.js';
import { AppError } from '../errors.js';

export interface JvmSpec {
  /** Engine name: also the log file name. */
  name: string;
  /** The engine's own folder under `<dataDir>/stack/`; config, pid file and log live here. */
  dir: string;
  mainClass: string;
  /** Folders whose jars form the classpath (`<dir>/*` each, expanded by the JVM, never by a shell). */
  classpath: string[];
  /** Maximum heap, e.g. 512m (the JVM starts at 128m and grows). */
  heap?: string;
  /** Memory flags computed by the engine itself (Flink's process-memory model); replaces `heap`. */
  memoryOptions?: string[];
  /** JVM options placed before the system properties (e.g. an @argfile). */
  jvmOptions?: string[];
  /** Extra environment variables for the process. */
  env?: Record<string, string>;
  properties?: Record<string, string>;
  args: string[];
}

/** A JVM daemon run from cached jars: detached, logging to a file, with a pid file and a command-line tag. */
export class JvmDaemon {
  readonly pidFile: string;
  readonly logFile: string;
  /** Appears in the JVM's command line, so `down` can find it even without a pid file. */
  readonly marker: string;

  constructor(readonly spec: JvmSpec) {
    this.pidFile = join(spec.dir, `${spec.name}.pid`);
    this.logFile = join(spec.dir, `${spec.name}.log`);
    this.marker = `-Drtrec.stack.dir=${spec.dir}`;
  }

  /** Pid of the running engine, or undefined. */
  pid(): number | undefined {
    clearStalePidFile(this.pidFile);
    const fromFile = readPidFile(this.pidFile);
    if (fromFile !== undefined && isAlive(fromFile)) return fromFile;
    return findProcesses(this.marker)[0];
  }

  start(): number {
    mkdirSync(this.spec.dir, { recursive: true });
    const memory = this.spec.memoryOptions ?? (this.spec.heap ? [`-Xms${initialHeap(this.spec.heap)}`, `-Xmx${this.spec.heap}`] : []);
    const args = [
      ...memory,
      ...(this.spec.jvmOptions ?? []),
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      // A JVM out of memory keeps its ports open but stops working; exiting lets `status` see it.
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      this.marker,
      ...Object.entries(this.spec.properties ?? {}).map(([k, v]) => `-D${k}=${v}`),
      '-cp',
      this.spec.classpath.map((dir) => join(dir, '*')).join(':'),
      this.spec.mainClass,
      ...this.spec.args,
    ];
    const env = this.spec.env ? { ...process.env, ...this.spec.env } : undefined;
    const pid = spawnDetached('java', args, { logFile: this.logFile, cwd: this.spec.dir, env });
    writeFileSync(this.pidFile, `${pid}\n`);
    return pid;
  }

  /** SIGTERM (clean shutdown), SIGKILL after `graceMs`; returns the pids that were stopped. */
  async stop(graceMs: number): Promise<{ stopped: number[]; forced: boolean }> {
    const pids = new Set(findProcesses(this.marker));
    const fromFile = readPidFile(this.pidFile);
    if (fromFile !== undefined && isAlive(fromFile)) pids.add(fromFile);
    let forced = false;
    for (const pid of pids) forced = (await terminate(pid, graceMs)).forced || forced;
    rmSync(this.pidFile, { force: true });
    const left = findProcesses(this.marker);
    if (left.length > 0) throw new AppError('STACK_START_FAILED', `${this.spec.name} processes ${left.join(', ')} are still running after SIGKILL.`);
    return { stopped: [...pids], forced };
  }
}

/** Start small and let the heap grow to the maximum: idle engines on a laptop should not hold 512 MB each. */
function initialHeap(heap: string): string {
  const mb = heap.endsWith('g') ? Number(heap.slice(0, -1)) * 1024 : Number(heap.slice(0, -1));
  return `${Math.min(mb, 128)}m`;
}
