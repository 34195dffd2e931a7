import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { withLock } from './lock.js';
import type { ArtifactSet, StackManifest } from './manifest.js';
import { formatBytes, type Progress } from './progress.js';

/** A set of jars ready in the user-level engine cache. */
export interface ResolvedArtifacts {
  name: string;
  version: string;
  /** `<cache>/<name>-<version>`: a Connect `plugin.path` entry for plugin sets. */
  dir: string;
  /** `<dir>/lib`: the jars; `<lib>/*` is a classpath. */
  lib: string;
  jars: number;
  bytes: number;
}

interface Marker {
  name: string;
  version: string;
  pomSha256: string;
  jars: number;
  bytes: number;
  resolvedAt: string;
}

const MARKER = 'complete.json';

/**
 * Makes every set available in `cacheDir`, resolving a missing one with Maven from its checked-in pom.
 * The cache is per user and shared by every clone: a set whose marker matches its pom is never fetched
 * again. Jars land in a temporary folder that is renamed into place, under a lock, so an interrupted or
 * concurrent run can never leave a half-filled set that looks complete.
 */
export async function resolveArtifacts(
  sets: ArtifactSet[],
  options: { cacheDir: string; manifest: StackManifest; logger: Logger; progress: Progress },
): Promise<Record<string, ResolvedArtifacts>> {
  const resolved: Record<string, ResolvedArtifacts> = {};
  for (const set of sets) {
    const dir = join(options.cacheDir, `${set.name}-${set.version}`);
    const pomSha256 = createHash('sha256').update(readFileSync(set.pom)).digest('hex');
    const cached = readMarker(dir, pomSha256);
    if (cached) {
      resolved[set.name] = cached;
      continue;
    }
    resolved[set.name] = await withLock(`${dir}.lock`, `resolving ${set.name} ${set.version}`, options.logger, async () => {
      // Another process may have finished it while we waited for the lock.
      return readMarker(dir, pomSha256) ?? (await fetchSet(set, dir, pomSha256, options));
    });
  }
  return resolved;
}

/** The cached set when its marker exists and was made from the same pom. */
export function readMarker(dir: string, pomSha256: string): ResolvedArtifacts | undefined {
  try {
    const marker = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as Marker;
    if (marker.pomSha256 !== pomSha256 || !existsSync(join(dir, 'lib'))) return undefined;
    return { name: marker.name, version: marker.version, dir, lib: join(dir, 'lib'), jars: marker.jars, bytes: marker.bytes };
  } catch {
    return undefined;
  }
}

async function fetchSet(
  set: ArtifactSet,
  dir: string,
  pomSha256: string,
  options: { manifest: StackManifest; logger: Logger; progress: Progress },
): Promise<ResolvedArtifacts> {
  if (!readFileSync(set.pom, 'utf8').includes(set.version)) {
    throw new Error(`stack/engines.json pins ${set.name} ${set.version}, but ${set.pom} does not mention that version: update both together`);
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  // Left by an interrupted run (Ctrl-C mid-download); we hold the lock, so nobody is writing them.
  const prefix = `${basename(dir)}.tmp-`;
  for (const stale of readdirSync(dirname(dir)).filter((f) => f.startsWith(prefix))) rmSync(join(dirname(dir), stale), { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const log = `${dir}.mvn.log`;
  const started = Date.now();
  options.logger.info({ set: set.name, version: set.version, pom: set.pom, log }, `fetching ${set.name} ${set.version} jars with Maven (once per user)`);
  try {
    await runMaven(set, join(tmp, 'lib'), log, options);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  const jars = readdirSync(join(tmp, 'lib')).filter((f) => f.endsWith('.jar'));
  if (jars.length === 0) throw new AppError('ENGINE_RESOLVE_FAILED', `mvn resolved no jars for ${set.name} ${set.version}: see ${log}`);
  const bytes = jars.reduce((sum, f) => sum + statSync(join(tmp, 'lib', f)).size, 0);
  const marker: Marker = { name: set.name, version: set.version, pomSha256, jars: jars.length, bytes, resolvedAt: new Date().toISOString() };
  writeFileSync(join(tmp, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
  // A set made from an older pom is replaced whole; nothing mixes jars of two resolutions.
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  options.progress.done(
    `${set.name} ${set.version}: ${jars.length} jars, ${formatBytes(bytes)} cached in ${dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return { name: set.name, version: set.version, dir, lib: join(dir, 'lib'), jars: jars.length, bytes };
}

/**
 * `mvn -B dependency:copy-dependencies` with the plugin version pinned. Batch mode prints one
 * "Downloaded from <repo>: <url> (<size>)" line per file, which drives the progress display; the full
 * output goes to a log beside the cache entry so a failure can be read in full.
 */
function runMaven(set: ArtifactSet, outputDirectory: string, logFile: string, options: { manifest: StackManifest; progress: Progress }): Promise<void> {
  const args = [
    '-B',
    '-f',
    set.pom,
    `${options.manifest.mavenDependencyPlugin}:copy-dependencies`,
    '-DincludeScope=runtime',
    `-DoutputDirectory=${outputDirectory}`,
  ];
  const label = `${set.name} ${set.version}`;
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    log.write(`$ mvn ${args.join(' ')}\n`);
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let files = 0;
    let bytes = 0;
    let lastError = '';
    options.progress.update(`${label}: resolving with Maven…`);
    const onLine = (line: string) => {
      log.write(`${line}\n`);
      const downloaded = /^(?:\[INFO\] )?Downloaded from [^:]+: (\S+) \(([\d.]+) (B|kB|KB|MB|GB)/.exec(line);
      if (downloaded) {
        files += 1;
        bytes += Number(downloaded[2]) * ({ B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 } as Record<string, number>)[downloaded[3]!]!;
        const file = downloaded[1]!.slice(downloaded[1]!.lastIndexOf('/') + 1);
        options.progress.update(`${label}: downloaded ${files} files, ${formatBytes(Math.round(bytes))} (${file})`);
      } else if (/^\[ERROR\]/.test(line) && !lastError) {
        lastError = line.replace(/^\[ERROR\]\s*/, '');
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', (error: NodeJS.ErrnoException) => {
      log.end();
      reject(
        error.code === 'ENOENT'
          ? new AppError(
              'ENGINE_RESOLVE_FAILED',
              'Maven (mvn) not found: install maven (apt-get install -y maven). It is needed once, to fetch the engine jars into the cache.',
            )
          : error,
      );
    });
    child.on('close', (code) => {
      log.end();
      if (code === 0) return resolve();
      reject(
        new AppError(
          'ENGINE_RESOLVE_FAILED',
          `mvn failed resolving ${label} (exit ${code}): ${lastError || 'no error line'}\nSee ${logFile}. Maven uses your ~/.m2/settings.xml (mirrors, proxies).`,
        ),
      );
    });
  });
}
