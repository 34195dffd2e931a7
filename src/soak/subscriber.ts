import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { type CursorPositions, decodeCursor } from '../kafka/cursor.js';

/*
 * A client of `tableChanged` that does what a careful client of a resumable subscription does: it keeps the
 * cursor of the last event it received and, whenever the connection drops (the API was killed, a network
 * blip), connects again with `after: <that cursor>`. It counts every Kafka position it is given, so that the
 * soak can check that each record of the topic arrived exactly once across every reconnect.
 */

export interface ResumingSubscriber {
  /** Deliveries per "partition:offset". */
  readonly deliveries: ReadonlyMap<string, number>;
  /** Times it resumed (a new connection delivered events after an earlier one had). */
  readonly reconnects: number;
  /** Errors the API answered with (by code), e.g. CURSOR_EXPIRED; a fatal one ends the subscriber. */
  readonly errors: readonly string[];
  /** The newest commit time among the events received since `since` was last reset (recovery probe). */
  newestCommitSince(at: number): boolean;
  stop(): Promise<void>;
}

const QUERY = 'subscription Soak($table: String!, $after: String) { tableChanged(table: $table, after: $after) { cursor committedAt } }';

export function startResumingSubscriber(options: {
  url: string;
  token: string;
  table: string;
  topic: string;
  /** Where to start: the positions already read on each partition (the event before the first one wanted). */
  after: string;
}): ResumingSubscriber {
  const deliveries = new Map<string, number>();
  const errors: string[] = [];
  let reconnects = 0;
  let stopped = false;
  let cursor = options.after;
  let last: CursorPositions = decodeCursor(options.after, options.topic, 'soak');
  let newestCommit = 0;
  let dispose: (() => Promise<void>) | undefined;

  const receive = (event: { cursor: string; committedAt: string }) => {
    const positions = decodeCursor(event.cursor, options.topic, 'tableChanged');
    let advanced = false;
    for (const [partition, offset] of positions) {
      if (last.get(partition) === offset) continue;
      advanced = true;
      const id = `${partition}:${offset}`;
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
    }
    // The same position again (a duplicate delivery) counts against the partition it names.
    if (!advanced)
      for (const [partition, offset] of positions) {
        const id = `${partition}:${offset}`;
        deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
      }
    last = positions;
    cursor = event.cursor;
    newestCommit = Math.max(newestCommit, new Date(event.committedAt).getTime());
  };

  const loop = async () => {
    let connections = 0;
    while (!stopped) {
      let received = false;
      const client = createClient({
        url: `${options.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: { authorization: `Bearer ${options.token}` },
      });
      dispose = async () => {
        await client.dispose();
      };
      let fatal = false;
      try {
        const iterator = client.iterate<{ tableChanged: { cursor: string; committedAt: string } }>({
          query: QUERY,
          variables: { table: options.table, after: cursor },
        });
        for await (const result of iterator) {
          if (result.errors?.length) {
            const codes = result.errors.map((e) => String(e.extensions?.code ?? e.message));
            errors.push(...codes);
            fatal = codes.some((c) => c !== 'INTERNAL_SERVER_ERROR');
            break;
          }
          if (result.data) {
            if (!received && connections++ > 0) reconnects++;
            received = true;
            receive(result.data.tableChanged);
          }
          if (stopped) break;
        }
      } catch (error) {
        // A closed socket or a refused connection: the API is down or restarting.
        const code = (error as { code?: unknown })?.code;
        if (Array.isArray(error)) errors.push(...error.map((e) => String(e?.extensions?.code ?? e?.message)));
        else if (typeof code === 'number' && code >= 4400 && code < 4500) errors.push(`close ${code}`);
      } finally {
        await client.dispose();
      }
      if (stopped || fatal) break;
      await sleep(500);
    }
  };
  const running = loop();

  return {
    deliveries,
    get reconnects() {
      return reconnects;
    },
    errors,
    newestCommitSince: (at) => newestCommit >= at,
    async stop() {
      stopped = true;
      await dispose?.();
      await running;
    },
  };
}
