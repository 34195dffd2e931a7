import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../errors.js';

/**
 * The HS256 signing secret in `file`, generated (32 random bytes, base64url) on first use. The folder is made
 * 0700 and the file 0600; an existing file that others can read is refused rather than trusted.
 */
export function ensureSecretFile(file: string): string {
  const dir = dirname(file);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new AppError('CONFIG_INVALID', `The token secret ${file} is readable by other users (mode ${mode.toString(8)}): run chmod 600 ${file}.`);
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32)
    throw new AppError('CONFIG_INVALID', `The token secret in ${file} is shorter than 32 characters: delete the file to generate a new one.`);
  return secret;
}
