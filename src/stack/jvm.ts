import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  /** Class-data sharing (see `ClassData`); unset: none. */
  classData?: ClassData;
}

/**
 * Class-data sharing (HotSpot's AppCDS): the first clean run of an engine writes the classes it loaded into an
 * archive when it stops (-XX:ArchiveClassesAtExit); every later start maps that archive instead of reading,
 * parsing and verifying the classes again. Kafka's start measured 3.9 → 2.4 s of CPU (2.4 → 1.5 s wall), which
 * counts most when an engine restarts on a loaded machine. Archives are shared by every data folder.
 */
export interface ClassData {
  /** Folder of the archives (under the engine cache). */
  dir: string;
  /** The JVM build (JavaRuntime.build): an archive only fits the JVM that wrote it. */
  build: string;
  /** A run shorter than this has not loaded what a working engine loads: its archive is not kept (default 20 s). */
  minRecordingMs?: number;
}

/** A run that records its archive, noted beside the pid file so that any later `stop` can keep or drop it. */
interface Recording {
  part: string;
  archive: string;
  startedAt: number;
  minMs: number;
}

const MIN_RECORDING_MS = 20_000;
/** Leftover partial archives of runs that were never stopped are removed after this long. */
const STALE_PART_MS = 24 * 3600_000;

/** A JVM daemon run from cached jars: detached, logging to a file, with a pid file and a command-line tag. */
export class JvmDaemon {
  readonly pidFile: string;
  readonly logFile: string;
  /** Appears in the JVM's command line, so `down` can find it even without a pid file. */
  readonly marker: string;

  private readonly recordingFile: string;

  constructor(readonly spec: JvmSpec) {
    this.pidFile = join(spec.dir, `${spec.name}.pid`);
    this.logFile = join(spec.dir, `${spec.name}.log`);
    this.recordingFile = join(spec.dir, `${spec.name}.class-data.json`);
    this.marker = `-Drtrec.stack.dir=${spec.dir}`;
  }

  /** The archive of this engine's classpath on this JVM build. */
  private archive(classData: ClassData): string {
    const key = createHash('sha256')
      .update(JSON.stringify([classData.build, this.spec.mainClass, this.spec.classpath, (this.spec.jvmOptions ?? []).map(argFileContent)]))
      .digest('hex')
      .slice(0, 16);
    return join(classData.dir, `${this.spec.name}-${key}.jsa`);
  }

  /** The flags that map the archive, or that record it on this run's clean exit. */
  private classDataOptions(): { options: string[]; recording?: Omit<Recording, 'startedAt'> } {
    this.dropRecording();
    const classData = this.spec.classData;
    if (!classData) return { options: [] };
    const archive = this.archive(classData);
    if (existsSync(archive)) {
      markUsed(archive);
      return { options: [`-XX:SharedArchiveFile=${archive}`] };
    }
    mkdirSync(classData.dir, { recursive: true });
    removeStaleParts(classData.dir);
    const part = `${archive}.${process.pid}-${Date.now()}.part`;
    return { options: [`-XX:ArchiveClassesAtExit=${part}`], recording: { part, archive, minMs: classData.minRecordingMs ?? MIN_RECORDING_MS } };
  }

  /** After a stop: keeps the archive a clean, long enough run wrote; drops a partial one. */
  private finishRecording(clean: boolean): void {
    const recording = this.readRecording();
    if (!recording) return;
    try {
      const written = existsSync(recording.part) && statSync(recording.part).size > 0;
      if (clean && written && Date.now() - recording.startedAt >= recording.minMs && !existsSync(recording.archive)) {
        renameSync(recording.part, recording.archive);
        pruneArchives(recording.archive, this.spec.name);
      }
    } finally {
      this.dropRecording();
    }
  }

  /** Forgets the recording of an earlier run (killed, or never stopped), with its partial archive. */
  private dropRecording(): void {
    const recording = this.readRecording();
    if (recording) rmSync(recording.part, { force: true });
    rmSync(this.recordingFile, { force: true });
  }

  private readRecording(): Recording | undefined {
    try {
      return JSON.parse(readFileSync(this.recordingFile, 'utf8')) as Recording;
    } catch {
      return undefined;
    }
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
    const classData = this.classDataOptions();
    const args = [
      ...memory,
      ...(this.spec.jvmOptions ?? []),
      ...classData.options,
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
    if (classData.recording) writeFileSync(this.recordingFile, JSON.stringify({ ...classData.recording, startedAt: Date.now() } satisfies Recording));
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
    this.finishRecording(pids.size > 0 && !forced);
    const left = findProcesses(this.marker);
    if (left.length > 0) throw new AppError('STACK_START_FAILED', `${this.spec.name} processes ${left.join(', ')} are still running after SIGKILL.`);
    return { stopped: [...pids], forced };
  }
}

/**
 * An `@argfile` option by its content, not its path: every clone of the project has its own path to the same
 * file, and should share the archive.
 */
function argFileContent(option: string): string {
  if (!option.startsWith('@')) return option;
  try {
    return `@${createHash('sha256')
      .update(readFileSync(option.slice(1)))
      .digest('hex')}`;
  } catch {
    return option;
  }
}

/** An archive's file name: `<engine>-<16 hex digits of its key>.jsa` (see `JvmDaemon.archive`). */
const ARCHIVE_NAME = /^(.+)-[0-9a-f]{16}\.jsa$/;

/** Archives kept per engine: the current one and the one used before it (another clone's or JVM's, say). */
const ARCHIVES_PER_ENGINE = 2;

/** Marks an archive as used now (its mtime), so that pruning keeps the ones in use. */
function markUsed(archive: string): void {
  try {
    const now = new Date();
    utimesSync(archive, now, now);
  } catch {
    // Removed meanwhile by another clone's pruning: this start maps nothing and the next one records again.
  }
}

/**
 * After a new archive is kept: removes this engine's older archives beyond ARCHIVES_PER_ENGINE, least recently
 * used first (each JVM build or classpath change writes a new one of 20–100 MB; nothing else removes them).
 */
function pruneArchives(kept: string, engine: string): void {
  const dir = dirname(kept);
  const archives = readdirSync(dir)
    .filter((name) => ARCHIVE_NAME.exec(name)?.[1] === engine)
    .map((name) => join(dir, name))
    .filter((path) => path !== kept)
    .map((path) => {
      try {
        return { path, used: statSync(path).mtimeMs };
      } catch {
        return undefined;
      }
    })
    .filter((a) => a !== undefined)
    .sort((a, b) => b.used - a.used);
  for (const old of archives.slice(ARCHIVES_PER_ENGINE - 1)) rmSync(old.path, { force: true });
}

/** Removes partial archives that no run will finish (their runs died or were never stopped). */
function removeStaleParts(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.part')) continue;
    const path = join(dir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_PART_MS) rmSync(path, { force: true });
    } catch {
      // Another process finished or removed it.
    }
  }
}

/** Start small and let the heap grow to the maximum: idle engines on a laptop should not hold 512 MB each. */
function initialHeap(heap: string): string {
  const mb = heap.endsWith('g') ? Number(heap.slice(0, -1)) * 1024 : Number(heap.slice(0, -1));
  return `${Math.min(mb, 128)}m`;
}
