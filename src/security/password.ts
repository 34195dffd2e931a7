import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost parameters; the hash string records them so verification works across settings. */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** OWASP-recommended minimum for interactive logins. */
export const INTERACTIVE_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };
/**
 * Synthetic accounts get random passwords nobody will ever type; a lower cost keeps bulk generation
 * fast while still storing only salted hashes. Real sign-ups must use INTERACTIVE_COST.
 */
export const SYNTHETIC_COST: ScryptCost = { N: 2 ** 10, r: 8, p: 1 };

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, 32, { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash` (base64url), salted with 16 random bytes. */
export async function hashPassword(password: string, cost: ScryptCost = INTERACTIVE_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, N, r, p, salt, hash] = parts;
  const expected = Buffer.from(hash!, 'base64url');
  const actual = await derive(password, Buffer.from(salt!, 'base64url'), { N: Number(N), r: Number(r), p: Number(p) });
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
