/**
 * Shares one subscription execution among every client that sent the same operation (same document and
 * variables): the source is executed once per event and each result object is handed to all of them.
 * Without it a change is executed — selection set, relation loads — once per subscriber.
 */
export function createMulticaster<T>() {
  interface Group {
    listeners: Set<(item: IteratorResult<T>) => void>;
    source: AsyncIterator<T>;
  }
  const groups = new Map<string, Group>();

  async function pump(key: string, group: Group): Promise<void> {
    try {
      for (;;) {
        const item = await group.source.next();
        for (const listener of group.listeners) listener(item);
        if (item.done) break;
      }
    } catch (error) {
      for (const listener of group.listeners) listener({ done: true, value: undefined });
      throw error;
    } finally {
      if (groups.get(key) === group) groups.delete(key);
    }
  }

  return {
    has: (key: string) => groups.has(key),
    /** An iterator of the shared results; `open` starts the source when this key has no group yet. */
    subscribe(key: string, open?: () => AsyncIterable<T>): AsyncIterableIterator<T> {
      let group = groups.get(key);
      if (!group) {
        if (!open) throw new Error(`no shared subscription ${key}`);
        group = { listeners: new Set(), source: open()[Symbol.asyncIterator]() };
        groups.set(key, group);
        const started = group;
        queueMicrotask(() => void pump(key, started).catch(() => undefined));
      }
      const queue: IteratorResult<T>[] = [];
      let wake: (() => void) | undefined;
      const listener = (item: IteratorResult<T>) => {
        queue.push(item);
        wake?.();
      };
      group.listeners.add(listener);
      const owner = group;
      const leave = async () => {
        owner.listeners.delete(listener);
        if (owner.listeners.size === 0 && groups.get(key) === owner) {
          groups.delete(key);
          await owner.source.return?.();
        }
      };
      const iterator: AsyncIterableIterator<T> = {
        async next() {
          while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          const item = queue.shift()!;
          if (item.done) await leave();
          return item;
        },
        async return() {
          await leave();
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
  };
}
