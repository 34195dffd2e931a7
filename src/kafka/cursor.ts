import { AppError } from '../errors.js';

/*
 * Subscription cursors. A cursor names, for one topic, the offset of the last message a subscriber received
 * on each partition; `after: <cursor>` resumes right after it. It is opaque to clients (base64url JSON with a
 * version prefix) and validated on the way in: a malformed or foreign cursor is a typed error, never a silent
 * fall-back to "live only".
 */

/** Last delivered offset per partition of one topic. */
export type CursorPositions = Map<number, bigint>;

const PREFIX = 'c1.';
const MAX_LENGTH = 4096;

export function encodeCursor(topic: string, positions: CursorPositions): string {
  const p = Object.fromEntries([...positions].sort((a, b) => a[0] - b[0]).map(([partition, offset]) => [partition, offset.toString()]));
  return PREFIX + Buffer.from(JSON.stringify({ t: topic, p })).toString('base64url');
}

/** The positions of a cursor for `topic`; BAD_USER_INPUT (field `after`) saying what is wrong otherwise. */
export function decodeCursor(cursor: string, topic: string, what: string): CursorPositions {
  const bad = (why: string) =>
    new AppError(
      'BAD_USER_INPUT',
      `after: ${why}. Pass the cursor field of an event this subscription (${what}) delivered, or omit after to start with the live changes.`,
      { field: 'after' },
    );
  if (cursor.length > MAX_LENGTH || !cursor.startsWith(PREFIX) || !/^[A-Za-z0-9_-]+$/.test(cursor.slice(PREFIX.length))) throw bad('not a cursor');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor');
  }
  const { t, p } = (body ?? {}) as { t?: unknown; p?: unknown };
  if (typeof t !== 'string' || typeof p !== 'object' || p === null || Array.isArray(p)) throw bad('not a cursor');
  if (t !== topic) throw bad(`the cursor belongs to the topic ${t}, not to ${topic}`);
  const positions: CursorPositions = new Map();
  for (const [partition, offset] of Object.entries(p)) {
    if (!/^\d{1,9}$/.test(partition) || typeof offset !== 'string' || !/^\d{1,19}$/.test(offset)) throw bad('not a cursor');
    positions.set(Number(partition), BigInt(offset));
  }
  if (positions.size === 0) throw bad('the cursor names no position');
  return positions;
}
