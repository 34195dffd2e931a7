import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../common/process.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL, holding our pid). Two `rtrec stack up`
 * in parallel — two terminals, or two CI jobs sharing the engine cache — would otherwise download into
 * the same folder or start the same broker twice. A lock left by a dead process is taken over.
 */
export async function withLock<T>(file: string, what: string, logger: Logger, fn: () => Promise<T>, timeoutMs = 15 * 60_000): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readSafe(file));
    if (!Number.isInteger(owner) || owner <= 0 || !isAlive(owner)) {
      rmSync(file, { force: true });
      continue;
    }
    if (!announced) {
      logger.info({ lock: file, owner }, `waiting for another rtrec (pid ${owner}) that is ${what}`);
      announced = true;
    }
    if (Date.now() > deadline) {
      throw new AppError('STACK_START_FAILED', `Timed out waiting for rtrec pid ${owner} (${what}). If no rtrec is running, delete ${file}.`);
    }
    await sleep(300);
  }
  try {
    return await fn();
  } finally {
    if (readSafe(file) === String(process.pid)) rmSync(file, { force: true });
  }
}

function readSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
