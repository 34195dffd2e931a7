import { Repeater } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { decodeCursor, encodeCursor } from '../../src/kafka/cursor.js';
import { type ChangeHistory, subscribeFrom } from '../../src/kafka/resume.js';

/*
 * Resuming from a cursor, as logic: a history whose Kafka is an array per partition, and a live stream the test
 * feeds. The real Kafka path is tested in tests/e2e/cdc.test.ts.
 */

const TOPIC = 'shop.public.orders';
type Item = { n: number; position: { topic: string; partition: number; offset: string } };
const item = (n: number, partition = 0): Item => ({ n, position: { topic: TOPIC, partition, offset: String(n) } });

function fakeKafka(log: Item[], low = 0n) {
  const live: Item[] = [];
  let push: ((i: Item) => void) | undefined;
  const stream = new Repeater<Item>(async (p, stop) => {
    push = (i) => void p(i);
    await stop;
  });
  const history: ChangeHistory = {
    topicOf: () => TOPIC,
    ready: async () => undefined,
    offsets: async () => new Map([[0, { low, high: BigInt(log.length) }]]),
    delivered: () => new Map([[0, BigInt(log.length - 1)]]),
    replay: async (_topic, from, until) => log.filter((i) => BigInt(i.n) >= from.get(0)! && BigInt(i.n) < until.get(0)!),
  };
  return {
    history,
    stream,
    /** A message written to Kafka: in the log, and (once the bridge reads it) on the live stream. */
    write(n: number) {
      log.push(item(n));
      live.push(item(n));
    },
    /** A message already in the log that the bridge reads (again) and publishes. */
    reread(n: number) {
      live.push(item(n));
    },
    /** The bridge publishes what it has read. */
    deliver() {
      for (const i of live.splice(0)) push?.(i);
    },
  };
}

async function take<T>(source: AsyncIterable<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  for await (const value of source) {
    out.push(value);
    if (out.length === count) break;
  }
  return out;
}

describe('subscription cursors', () => {
  it('round-trip the offsets of every partition and are refused when malformed, foreign or empty', () => {
    const cursor = encodeCursor(
      TOPIC,
      new Map([
        [1, 7n],
        [0, 12345678901234n],
      ]),
    );
    expect(decodeCursor(cursor, TOPIC, 'orderChanged')).toEqual(
      new Map([
        [0, 12345678901234n],
        [1, 7n],
      ]),
    );
    const refused = (c: string, topic = TOPIC) => {
      try {
        decodeCursor(c, topic, 'orderChanged');
      } catch (error) {
        expect(error).toBeInstanceOf(AppError);
        expect((error as AppError).code).toBe('BAD_USER_INPUT');
        expect((error as AppError).details).toEqual({ field: 'after' });
        return (error as AppError).message;
      }
      throw new Error(`${c} was accepted`);
    };
    expect(refused('')).toMatch(/not a cursor.*omit after/);
    expect(refused(`c1.${'A'.repeat(5000)}`)).toMatch(/not a cursor/);
    expect(refused(`c1.${Buffer.from('{"t":"shop.public.orders","p":{"0":"-1"}}').toString('base64url')}`)).toMatch(/not a cursor/);
    expect(refused(`c1.${Buffer.from('{"t":"shop.public.orders","p":{}}').toString('base64url')}`)).toMatch(/names no position/);
    expect(refused(cursor, 'shop.public.carts')).toMatch(/belongs to the topic shop.public.orders, not to shop.public.carts/);
  });

  it('replays what a subscriber missed and then continues live, with no gap and no duplicate across the switch', async () => {
    const log = Array.from({ length: 10 }, (_, n) => item(n));
    const kafka = fakeKafka(log);
    // The subscriber last saw offset 3; 4–9 are in Kafka; the bridge publishes 8 and 9 (which the replay has too)
    // and then 10 and 11, written while it resumes.
    const cursor = encodeCursor(TOPIC, new Map([[0, 3n]]));
    const resumed = subscribeFrom(kafka.history, 'orders', 'orderChanged', cursor, kafka.stream);
    const source = await resumed;
    kafka.reread(8);
    kafka.reread(9);
    kafka.write(10);
    kafka.write(11);
    const iterator = source[Symbol.asyncIterator]();
    const got: (Item & { cursor: string })[] = [];
    for (let i = 0; i < 6; i++) got.push((await iterator.next()).value);
    kafka.deliver();
    for (let i = 0; i < 2; i++) got.push((await iterator.next()).value);
    await iterator.return?.();
    expect(got.map((g) => g.n)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    // Each cursor resumes right after its item.
    expect(decodeCursor(got[4]!.cursor, TOPIC, 'orderChanged')).toEqual(new Map([[0, 8n]]));
  });

  it('starts a live subscription where the bridge stands, so its first cursor already covers every partition', async () => {
    const kafka = fakeKafka(Array.from({ length: 5 }, (_, n) => item(n)));
    const source = await subscribeFrom(kafka.history, 'orders', 'orderChanged', undefined, kafka.stream);
    kafka.write(5);
    const next = take(source, 1);
    await new Promise((r) => setTimeout(r, 0));
    kafka.deliver();
    const [first] = await next;
    expect(first!.n).toBe(5);
    expect(decodeCursor(first!.cursor, TOPIC, 'orderChanged')).toEqual(new Map([[0, 5n]]));
  });

  it('answers CURSOR_EXPIRED, saying what to do, when the topic no longer holds the next change', async () => {
    const kafka = fakeKafka(
      Array.from({ length: 10 }, (_, n) => item(n)),
      6n,
    );
    const error = await subscribeFrom(kafka.history, 'orders', 'orderChanged', encodeCursor(TOPIC, new Map([[0, 3n]])), kafka.stream).catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('CURSOR_EXPIRED');
    expect(error.message).toMatch(/partition 0 now starts at offset 6; the cursor needs 4.*query.*subscribe without after/s);
    // The change right after the cursor is still there: no error.
    await expect(subscribeFrom(kafka.history, 'orders', 'orderChanged', encodeCursor(TOPIC, new Map([[0, 5n]])), kafka.stream)).resolves.toBeDefined();
  });
});
