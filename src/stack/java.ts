import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { AppError } from '../errors.js';

const execFileAsync = promisify(execFile);

const INSTALL_JAVA = 'install openjdk-17-jre-headless (apt-get install -y openjdk-17-jre-headless) or any JDK 17+ and put `java` on PATH';

export interface JavaRuntime {
  major: number;
  /** A HotSpot JVM (OpenJDK, Oracle, Temurin…): class-data-sharing archives (jvm.ts) work with it. */
  hotspot: boolean;
  /** A short hash of `java -version`'s output: an archive is valid only for the JVM build that wrote it. */
  build: string;
}

/** The `java` on PATH. Kafka 4 and Debezium 3 need 17+, so anything older is refused up front. */
export async function checkJava(): Promise<JavaRuntime> {
  let output: string;
  try {
    const result = await execFileAsync('java', ['-version'], { timeout: 30_000 });
    output = `${result.stderr}${result.stdout}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('JAVA_NOT_FOUND', `Java 17+ not found: ${INSTALL_JAVA}.`);
    throw new AppError('JAVA_NOT_FOUND', `\`java -version\` failed (${(error as Error).message.trim()}): ${INSTALL_JAVA}.`);
  }
  const major = parseJavaMajor(output);
  if (major === undefined) throw new AppError('JAVA_NOT_FOUND', `Could not read the Java version from \`java -version\`:\n${output.trim()}`);
  if (major < 17) throw new AppError('JAVA_NOT_FOUND', `Java ${major} found, but Kafka 4 and Debezium 3 need Java 17+: ${INSTALL_JAVA}.`);
  return { major, hotspot: isHotSpot(output), build: createHash('sha256').update(output.trim()).digest('hex').slice(0, 12) };
}

/** HotSpot names itself "… 64-Bit Server VM" (OpenJ9 says "Eclipse OpenJ9 VM", GraalVM native images have no JVM). */
export function isHotSpot(versionOutput: string): boolean {
  return /Server VM/.test(versionOutput) && !/OpenJ9/i.test(versionOutput);
}

/** `openjdk version "17.0.15"` → 17; `java version "1.8.0_392"` → 8. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}
