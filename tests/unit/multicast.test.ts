import { describe, expect, it } from 'vitest';
import { createMulticaster } from '../../src/server/multicast.js';
import { nextFrames, sharedPayload } from '../../src/server/websocket.js';

function source<T>() {
  const pending: ((r: IteratorResult<T>) => void)[] = [];
  let opened = 0;
  let returned = 0;
  const iterable: AsyncIterable<T> = {
    [Symbol.asyncIterator]() {
      opened++;
      return {
        next: () => new Promise<IteratorResult<T>>((resolve) => pending.push(resolve)),
        return: async () => {
          returned++;
          for (const resolve of pending.splice(0)) resolve({ done: true, value: undefined });
          return { done: true, value: undefined };
        },
      };
    },
  };
  return {
    iterable,
    emit: (value: T) => pending.shift()?.({ done: false, value }),
    end: async () => pending.shift()?.({ done: true, value: undefined }),
    stats: () => ({ opened, returned }),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('subscription multicaster', () => {
  it('executes one source per operation, prepares each event once and hands it to every member', async () => {
    let prepared = 0;
    const m = createMulticaster<{ n: number }, string>((value) => (prepared++, JSON.stringify(value)));
    const s = source<{ n: number }>();
    const a: string[] = [];
    const b: string[] = [];
    m.join(
      'op',
      (v) => a.push(v),
      () => s.iterable,
    );
    m.join('op', (v) => b.push(v));
    expect(m.has('op')).toBe(true);
    await tick();
    s.emit({ n: 1 });
    await tick();
    s.emit({ n: 2 });
    await tick();
    expect(a).toEqual(['{"n":1}', '{"n":2}']);
    expect(b).toEqual(a);
    expect(prepared).toBe(2);
    expect(s.stats()).toEqual({ opened: 1, returned: 0 });
  });

  it('closes the shared source when the last member leaves, and not before', async () => {
    const m = createMulticaster<number>();
    const s = source<number>();
    const a = m.join(
      'op',
      () => undefined,
      () => s.iterable,
    );
    const b = m.join('op', () => undefined);
    await a.leave();
    await a.ended;
    expect(s.stats().returned).toBe(0);
    await b.leave();
    expect(s.stats().returned).toBe(1);
    expect(m.has('op')).toBe(false);
    expect(() => m.join('op', () => undefined)).toThrow(/no shared subscription/);
  });

  it('ends every membership when the source completes or fails', async () => {
    const m = createMulticaster<number>();
    const completing = source<number>();
    const a = m.join(
      'done',
      () => undefined,
      () => completing.iterable,
    );
    await tick();
    await completing.end();
    await a.ended;
    expect(m.has('done')).toBe(false);

    const failing: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('boom')) }) };
    const b = m.join(
      'fail',
      () => undefined,
      () => failing,
    );
    await b.ended;
    expect(m.has('fail')).toBe(false);
  });

  it('drops a member whose listener throws and keeps delivering to the others', async () => {
    const m = createMulticaster<number>();
    const s = source<number>();
    const got: number[] = [];
    const broken = m.join(
      'op',
      () => {
        throw new Error('socket gone');
      },
      () => s.iterable,
    );
    m.join('op', (v) => got.push(v));
    await tick();
    s.emit(1);
    await broken.ended;
    await tick();
    s.emit(2);
    await tick();
    expect(got).toEqual([1, 2]);
  });
});

/** The text messages in `bytes`, a sequence of unmasked, unfragmented WebSocket frames (RFC 6455 §5.2). */
function textMessages(bytes: Buffer): string[] {
  const messages: string[] = [];
  for (let at = 0; at < bytes.length; ) {
    expect(bytes[at]).toBe(0x81); // FIN, text
    let length = bytes[at + 1]!;
    let start = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2);
      start = at + 4;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at + 2));
      start = at + 10;
    }
    messages.push(bytes.subarray(start, start + length).toString());
    at = start + length;
  }
  return messages;
}

describe('nextFrames', () => {
  it('writes each graphql-ws next message as one whole WebSocket frame around the shared payload, at every length encoding', () => {
    const written: Buffer[] = [];
    const socket = {
      readyState: 1,
      bufferedAmount: 0,
      extensions: '',
      send: () => {
        throw new Error('not through ws');
      },
      close: () => undefined,
    } as any;
    const stream = { writableLength: 0, write: (b: Buffer) => (written.push(b), true) } as any;
    let writes = 0;
    const deliver = nextFrames(socket, stream, 'sub-1', () => writes++);
    const results = [{ data: { x: 1 } }, { data: { s: 'é'.repeat(100) } }, { data: { s: 'y'.repeat(70_000) } }, { errors: [{ message: 'boom' }] }];
    for (const result of results) deliver(sharedPayload(result as any));
    expect(writes).toBe(4);
    expect(written).toHaveLength(4);
    const messages = textMessages(Buffer.concat(written));
    expect(messages.map((m) => JSON.parse(m))).toEqual(results.map((payload) => ({ id: 'sub-1', type: 'next', payload })));
    expect(messages[0]).toBe('{"id":"sub-1","type":"next","payload":{"data":{"x":1}}}');
  });

  it('sends through ws when an extension was negotiated, and closes a subscriber that falls too far behind', () => {
    const sent: string[] = [];
    const closed: [number, string][] = [];
    const socket = {
      readyState: 1,
      bufferedAmount: 0,
      extensions: 'permessage-deflate',
      send: (d: Buffer, o: { binary: boolean }) => {
        expect(o.binary).toBe(false);
        sent.push(d.toString());
      },
      close: (code: number, reason: string) => void closed.push([code, reason]),
    } as any;
    const stream = {
      writableLength: 0,
      write: () => {
        throw new Error('not around ws');
      },
    } as any;
    let writes = 0;
    const deliver = nextFrames(socket, stream, 'sub-1', () => writes++, 1000);
    deliver(sharedPayload({ data: { x: 1 } }));
    expect(sent).toEqual(['{"id":"sub-1","type":"next","payload":{"data":{"x":1}}}']);
    stream.writableLength = 900;
    socket.bufferedAmount = 200;
    deliver(sharedPayload({ data: { x: 2 } }));
    expect(sent).toHaveLength(1);
    expect(writes).toBe(1);
    expect(closed).toEqual([[1013, 'subscriber too slow: more than 0 MiB of unsent messages']]);
    socket.readyState = 3;
    deliver(sharedPayload({ data: { x: 3 } }));
    expect(writes).toBe(1);
  });
});
