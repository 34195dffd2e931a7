import { Repeater } from 'graphql-yoga';
import type { KafkaPosition } from '../cdc/envelope.js';
import { AppError } from '../errors.js';
import { type CursorPositions, decodeCursor, encodeCursor } from './cursor.js';

/*
 * Resuming a subscription from a cursor: the changes a subscriber missed come from Kafka, then the live ones,
 * with no gap and no duplicate across the switch. The live stream is subscribed (and buffered) first; then the
 * topic's end offsets are read and everything from the cursor up to them is replayed; live messages below those
 * offsets are the replayed ones and are dropped, the rest follow in order. A message at an offset at or past
 * the end just read was written after the live subscription existed, so the live stream has it.
 */

/** What resuming needs of Kafka (the API's bridge implements it). */
export interface ChangeHistory {
  /** The topic a subscription reads (a table's change topic, a job's result topic). */
  topicOf(name: string): string;
  /** Resolves once the live stream reads every new message (KAFKA_UNAVAILABLE if it cannot). */
  ready(): Promise<void>;
  offsets(topic: string): Promise<Map<number, { low: bigint; high: bigint }>>;
  /** The last offset the live stream has published, per partition (where a subscription that starts now stands). */
  delivered(topic: string): CursorPositions;
  replay(topic: string, from: Map<number, bigint>, until: Map<number, bigint>): Promise<{ position?: KafkaPosition }[]>;
}

type Positioned = { position?: KafkaPosition };

/** The live stream preceded by what the subscriber missed after `after` (CURSOR_EXPIRED when Kafka no longer has it). */
export async function resumeAfter<T extends Positioned>(
  history: ChangeHistory,
  topic: string,
  after: CursorPositions,
  live: AsyncIterable<T>,
): Promise<AsyncIterable<T>> {
  // Subscribe first and buffer without bound: the pubsub's own queue is small, a replay can take seconds.
  const liveIterator = live[Symbol.asyncIterator]();
  const buffered: T[] = [];
  let wake: (() => void) | undefined;
  let liveEnded = false;
  let liveError: unknown;
  void (async () => {
    try {
      for (;;) {
        const r = await liveIterator.next();
        if (r.done) break;
        buffered.push(r.value);
        wake?.();
      }
    } catch (error) {
      liveError = error;
    }
    liveEnded = true;
    wake?.();
  })();
  try {
    await history.ready();
    const ends = await history.offsets(topic);
    const from = new Map<number, bigint>();
    const until = new Map<number, bigint>();
    for (const [partition, { low, high }] of ends) {
      const last = after.get(partition);
      const start = last === undefined ? low : last + 1n;
      if (start < low || start > high)
        throw new AppError(
          'CURSOR_EXPIRED',
          start < low
            ? `after: Kafka no longer has the changes after this cursor (${topic} partition ${partition} now starts at offset ${low}; the cursor needs ${start}): the topic's retention has passed, or a reset (clearData) deleted them. Re-read the current state with a query, then subscribe without after (or with a newer cursor).`
            : `after: the cursor is ahead of ${topic} (partition ${partition} ends at ${high}): the topic was re-created. Re-read the current state with a query, then subscribe without after.`,
          { field: 'after', topic, partition, availableFrom: String(low) },
        );
      from.set(partition, start);
      until.set(partition, high);
    }
    for (const partition of after.keys())
      if (!ends.has(partition)) throw new AppError('BAD_USER_INPUT', `after: ${topic} has no partition ${partition}.`, { field: 'after' });
    const missed = (await history.replay(topic, from, until)) as T[];
    return new Repeater<T>(async (push, stop) => {
      stop.then(() => liveIterator.return?.());
      for (const item of missed) await push(item);
      let stopped = false;
      stop.then(() => {
        stopped = true;
        wake?.();
      });
      while (!stopped) {
        const item = buffered.shift();
        if (item) {
          const p = item.position;
          const end = p ? until.get(p.partition) : undefined;
          if (end === undefined || BigInt(p!.offset) >= end) await push(item);
          continue;
        }
        if (liveEnded) {
          if (liveError) stop(liveError);
          else stop();
          break;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    });
  } catch (error) {
    await liveIterator.return?.();
    throw error;
  }
}

/**
 * Each delivered item with the cursor of this subscription after it: the offsets it has delivered, per
 * partition, starting from `start` (the cursor it resumed from, else nothing).
 */
export function withCursors<T extends Positioned>(
  source: AsyncIterable<T>,
  topic: string,
  start: CursorPositions = new Map(),
): AsyncIterable<T & { cursor: string }> {
  const positions = new Map(start);
  return {
    async *[Symbol.asyncIterator]() {
      for await (const item of source) {
        if (item.position) positions.set(item.position.partition, BigInt(item.position.offset));
        yield { ...item, cursor: encodeCursor(topic, positions) };
      }
    },
  };
}

/**
 * A subscription's stream with a cursor on every item: live from now when `after` is absent, else what the
 * subscriber missed after `after` and then live (BAD_USER_INPUT for a malformed or foreign cursor,
 * CURSOR_EXPIRED when Kafka no longer has what it needs). `name` is the table or result kind, `what` the
 * subscription field (for messages).
 */
export async function subscribeFrom<T extends Positioned>(
  history: ChangeHistory,
  name: string,
  what: string,
  after: string | null | undefined,
  live: AsyncIterable<T>,
): Promise<AsyncIterable<T & { cursor: string }>> {
  const topic = history.topicOf(name);
  if (after === null || after === undefined) return withCursors(live, topic, history.delivered(topic));
  const positions = decodeCursor(after, topic, what);
  return withCursors(await resumeAfter(history, topic, positions, live), topic, positions);
}
