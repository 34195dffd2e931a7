import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHotSpot } from '../../src/stack/java.js';
import { type ClassData, JvmDaemon } from '../../src/stack/jvm.js';

/*
 * Class-data sharing in the JVM daemon, with a stand-in `java` on PATH: a shell script that writes the archive
 * HotSpot would write (-XX:ArchiveClassesAtExit) when it gets SIGTERM, and nothing when it is killed.
 */

let root: string;
const savedPath = process.env.PATH;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'rtrec-cds-'));
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const java = join(bin, 'java');
  writeFileSync(
    java,
    `#!/bin/bash
part=""
for a in "$@"; do case "$a" in -XX:ArchiveClassesAtExit=*) part="\${a#*=}";; esac; done
trap 'if [ -n "$part" ]; then echo archive > "$part"; fi; exit 0' TERM
echo ready
while true; do sleep 0.05; done
`,
  );
  chmodSync(java, 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
});
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(root, { recursive: true, force: true });
});

const daemon = (name: string, classData: ClassData) =>
  new JvmDaemon({ name, dir: join(root, 'data', name), mainClass: 'example.Main', classpath: [join(root, 'lib')], args: [], classData });
/** The JVM flags of the daemon's last start, from its log. */
const lastStart = (d: JvmDaemon) =>
  readFileSync(d.logFile, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('----- '))
    .at(-1)!;
/**
 * Until the stand-in of the daemon's last start has set its SIGTERM trap: a SIGTERM before that kills it the
 * default way (no archive), as a loaded CI machine showed.
 */
async function ready(d: JvmDaemon): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const log = readFileSync(d.logFile, 'utf8');
    if (/^ready$/m.test(log.slice(log.lastIndexOf('----- ')))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${d.spec.name}'s stand-in java never became ready`);
}
const archives = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe('class-data sharing', () => {
  it('records an archive on the first clean run and maps it on every later start', async () => {
    const classData = { dir: join(root, 'cds-a'), build: 'b1', minRecordingMs: 0 };
    const first = daemon('engine-a', classData);
    first.start();
    await ready(first);
    expect(lastStart(first)).toMatch(/-XX:ArchiveClassesAtExit=\S+\.part /);
    await new Promise((r) => setTimeout(r, 300));
    await first.stop(5000);
    const kept = archives(classData.dir);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(/^engine-a-[0-9a-f]{16}\.jsa$/);

    const second = daemon('engine-a', classData);
    second.start();
    await ready(second);
    expect(lastStart(second)).toContain(`-XX:SharedArchiveFile=${join(classData.dir, kept[0]!)}`);
    expect(lastStart(second)).not.toContain('ArchiveClassesAtExit');
    await second.stop(5000);
    expect(archives(classData.dir)).toEqual(kept);

    // Another JVM build gets its own archive.
    const other = daemon('engine-a', { ...classData, build: 'b2' });
    other.start();
    await ready(other);
    expect(lastStart(other)).toContain('ArchiveClassesAtExit');
    await other.stop(5000);
    expect(archives(classData.dir)).toHaveLength(2);
  });

  it('keeps nothing from a run that was killed or too short, and records again next time', async () => {
    const classData = { dir: join(root, 'cds-b'), build: 'b1', minRecordingMs: 0 };
    const killed = daemon('engine-b', classData);
    const pid = killed.start();
    await new Promise((r) => setTimeout(r, 200));
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const again = daemon('engine-b', classData);
    again.start();
    await ready(again);
    expect(lastStart(again)).toContain('ArchiveClassesAtExit');
    await again.stop(5000);
    expect(archives(classData.dir).filter((f) => f.endsWith('.jsa'))).toHaveLength(1);
    expect(archives(classData.dir).filter((f) => f.endsWith('.part'))).toEqual([]);

    const short = { dir: join(root, 'cds-c'), build: 'b1', minRecordingMs: 60_000 };
    const brief = daemon('engine-c', short);
    brief.start();
    await ready(brief);
    await new Promise((r) => setTimeout(r, 200));
    await brief.stop(5000);
    expect(archives(short.dir)).toEqual([]);
  });

  it('shares an archive between clones whose @argfiles differ only in their path', async () => {
    const classData = { dir: join(root, 'cds-e'), build: 'b1', minRecordingMs: 0 };
    const withArgFile = (clone: string, content: string) => {
      mkdirSync(join(root, clone), { recursive: true });
      writeFileSync(join(root, clone, 'opens.args'), content);
      return new JvmDaemon({
        name: 'engine-e',
        dir: join(root, clone, 'data'),
        mainClass: 'example.Main',
        classpath: [join(root, 'lib')],
        jvmOptions: [`@${join(root, clone, 'opens.args')}`],
        args: [],
        classData,
      });
    };
    const first = withArgFile('clone-1', '--add-opens=java.base/java.lang=ALL-UNNAMED\n');
    first.start();
    await ready(first);
    await new Promise((r) => setTimeout(r, 200));
    await first.stop(5000);
    const second = withArgFile('clone-2', '--add-opens=java.base/java.lang=ALL-UNNAMED\n');
    second.start();
    await ready(second);
    expect(lastStart(second)).toContain('-XX:SharedArchiveFile=');
    await second.stop(5000);
    const changed = withArgFile('clone-3', '--add-opens=java.base/java.util=ALL-UNNAMED\n');
    changed.start();
    await ready(changed);
    expect(lastStart(changed)).toContain('ArchiveClassesAtExit');
    await changed.stop(5000);
  });

  it("keeps two archives per engine, the most recently used, when a new one is recorded; never another engine's", async () => {
    const dir = join(root, 'cds-f');
    const run = async (name: string, build: string) => {
      const d = daemon(name, { dir, build, minRecordingMs: 0 });
      d.start();
      await ready(d);
      await new Promise((r) => setTimeout(r, 20));
      await d.stop(5000);
      return lastStart(d);
    };
    const jsa = () => archives(dir).filter((f) => f.endsWith('.jsa'));
    await run('engine-f', 'b1');
    // b1's archive, named before b2's exists (the names hash the temporary folder, so their order varies).
    const [b1] = jsa();
    await run('engine-f-other', 'b1');
    await run('engine-f', 'b2');
    expect(jsa()).toHaveLength(3);
    // b1 is mapped again (used after b2 was recorded), so b2 is the least recently used of engine-f's when b3 comes.
    await new Promise((r) => setTimeout(r, 20));
    expect(await run('engine-f', 'b1')).toContain('SharedArchiveFile');
    const before = new Set(jsa());
    await run('engine-f', 'b3');
    const after = jsa();
    expect(after).toHaveLength(3);
    expect(after).toContain(b1);
    expect(after.filter((f) => f.startsWith('engine-f-other-'))).toHaveLength(1);
    expect([...before].filter((f) => !after.includes(f))).toHaveLength(1);
  });

  it('without class data, starts with no sharing flag', async () => {
    const plain = new JvmDaemon({ name: 'engine-d', dir: join(root, 'data', 'engine-d'), mainClass: 'example.Main', classpath: [], args: [] });
    plain.start();
    await ready(plain);
    expect(lastStart(plain)).not.toMatch(/SharedArchiveFile|ArchiveClassesAtExit/);
    await plain.stop(5000);
  });

  it('tells HotSpot from other JVMs by `java -version`', () => {
    expect(
      isHotSpot(
        'openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)\nOpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)',
      ),
    ).toBe(true);
    expect(
      isHotSpot(
        'openjdk version "17.0.9" 2023-10-17\nIBM Semeru Runtime Open Edition 17.0.9.0\nEclipse OpenJ9 VM 17.0.9.0 (build openj9-0.41.0, JRE 17 Linux amd64-64-Bit Compressed References)',
      ),
    ).toBe(false);
  });
});
