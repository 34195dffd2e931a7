/** One subscriber's place in a shared execution. */
export interface Membership {
  /** Settles when the shared source ends (completes or fails) or when this member leaves. */
  ended: Promise<void>;
  /** Stops delivery to this member; the last member to leave closes the source. */
  leave(): Promise<void>;
}

/**
 * Shares one subscription execution among every client that sent the same operation (same document and
 * variables): the source is executed once per event, `prepare` runs once per event (the websocket layer
 * serialises the result there), and the prepared value is handed synchronously to every member's listener.
 * Without it a change is executed — selection set, relation loads, JSON — once per subscriber; with a
 * per-member queue and iterator instead of a direct call, each event still cost a few promises per member.
 */
export function createMulticaster<T, P = T>(prepare: (value: T) => P = (value) => value as unknown as P) {
  interface Member {
    listener: (value: P) => void;
    end: () => void;
  }
  interface Group {
    members: Set<Member>;
    source: AsyncIterator<T>;
  }
  const groups = new Map<string, Group>();

  function endAll(group: Group): void {
    for (const member of group.members) member.end();
    group.members.clear();
  }

  async function pump(key: string, group: Group): Promise<void> {
    try {
      for (;;) {
        const item = await group.source.next();
        if (item.done || group.members.size === 0) break;
        const value = prepare(item.value);
        for (const member of group.members) {
          try {
            member.listener(value);
          } catch {
            // A member that cannot take deliveries (its socket failed) leaves; the others keep theirs.
            group.members.delete(member);
            member.end();
          }
        }
      }
    } finally {
      if (groups.get(key) === group) groups.delete(key);
      endAll(group);
    }
  }

  return {
    has: (key: string) => groups.has(key),
    /**
     * Adds `listener` to the shared execution for `key`; `open` starts the source when this key has no
     * group yet (throws when neither exists).
     */
    join(key: string, listener: (value: P) => void, open?: () => AsyncIterable<T>): Membership {
      let group = groups.get(key);
      if (!group) {
        if (!open) throw new Error(`no shared subscription ${key}`);
        group = { members: new Set(), source: open()[Symbol.asyncIterator]() };
        groups.set(key, group);
        const started = group;
        // A failing source ends every member (pump's finally); there is no one left to report it to.
        queueMicrotask(() => void pump(key, started).catch(() => undefined));
      }
      const owner = group;
      let end!: () => void;
      const ended = new Promise<void>((resolve) => (end = resolve));
      const member: Member = { listener, end };
      owner.members.add(member);
      return {
        ended,
        async leave() {
          owner.members.delete(member);
          end();
          if (owner.members.size === 0 && groups.get(key) === owner) {
            groups.delete(key);
            await owner.source.return?.();
          }
        },
      };
    },
  };
}
