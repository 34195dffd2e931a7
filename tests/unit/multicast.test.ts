import { describe, expect, it } from 'vitest';
import { createMulticaster } from '../../src/server/multicast.js';

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
  return { iterable, emit: (value: T) => pending.shift()?.({ done: false, value }), stats: () => ({ opened, returned }) };
}

describe('subscription multicaster', () => {
  it('executes one source per operation and hands every result to all its subscribers', async () => {
    const m = createMulticaster<{ n: number }>();
    const s = source<{ n: number }>();
    const a = m.subscribe('op', () => s.iterable);
    const b = m.subscribe('op');
    expect(m.has('op')).toBe(true);
    const nextA = a.next();
    const nextB = b.next();
    await new Promise((r) => setTimeout(r, 0));
    s.emit({ n: 1 });
    const [ra, rb] = await Promise.all([nextA, nextB]);
    expect(ra.value).toEqual({ n: 1 });
    expect(rb.value).toBe(ra.value);
    expect(s.stats()).toEqual({ opened: 1, returned: 0 });
  });

  it('closes the shared source when the last subscriber leaves, and not before', async () => {
    const m = createMulticaster<number>();
    const s = source<number>();
    const a = m.subscribe('op', () => s.iterable);
    const b = m.subscribe('op');
    await a.return!();
    expect(s.stats().returned).toBe(0);
    await b.return!();
    expect(s.stats().returned).toBe(1);
    expect(m.has('op')).toBe(false);
    expect(() => m.subscribe('op')).toThrow(/no shared subscription/);
  });
});
