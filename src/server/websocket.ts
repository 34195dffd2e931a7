import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import { print, type ExecutionResult } from 'graphql';
import { createMulticaster, type Membership } from './multicast.js';

/**
 * GraphQL over WebSocket (graphql-ws protocol) on the same path as HTTP, executed through yoga's own
 * envelop pipeline so the same context, limits and error masking apply. Returns a closer.
 */
export function attachWebSocket(server: Server, yoga: YogaServerInstance<any, any>): () => Promise<void> {
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  // One JSON serialisation per event, shared by every subscriber of the operation (see multicast.ts).
  const shared = createMulticaster<ExecutionResult, string>((result) => JSON.stringify(result));
  // The socket, its TCP stream (the upgrade request's, which ws writes to) and the subscription id of each
  // operation, for the subscribe hook (which only gets the args).
  const deliveries = new WeakMap<object, { socket: WebSocket; stream: Duplex; id: string }>();
  const inBursts = createBurstWriter();
  const disposable = useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      // Clients with the same operation share one execution per event. Subscription resolvers read nothing
      // caller-specific from the context, so sharing cannot leak between clients.
      subscribe: async (args: any) => {
        const { socket, stream, id } = deliveries.get(args)!;
        const key = JSON.stringify([print(args.document), args.operationName ?? null, args.variableValues ?? {}]);
        const deliver = nextFrames(socket, stream, id, () => inBursts(stream));
        if (shared.has(key)) return untilEnded(shared.join(key, deliver));
        const result = await args.rootValue.subscribe(args);
        if (!(Symbol.asyncIterator in result)) return result;
        if (shared.has(key)) {
          // Another client opened the same operation meanwhile: join it and close this source.
          await result.return?.();
          return untilEnded(shared.join(key, deliver));
        }
        return untilEnded(shared.join(key, deliver, () => result));
      },
      onSubscribe: async (ctx, id, params) => {
        const upgrade = ctx.extra.request;
        const headers = new Headers();
        for (const [name, value] of Object.entries(upgrade.headers)) if (typeof value === 'string') headers.set(name, value);
        const request = new Request(`http://localhost${upgrade.url ?? '/graphql'}`, { headers });
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ ...ctx, request, params });
        const args = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        deliveries.set(args, { socket: ctx.extra.socket, stream: upgrade.socket, id });
        return args;
      },
    },
    wss,
  );
  return async () => {
    for (const client of wss.clients) client.terminate();
    await disposable.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

/** A subscriber that lets this much pile up unsent (it reads slower than changes arrive) is disconnected. */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024;

/**
 * Writes graphql-ws `next` messages for subscription `id` straight to the socket: the frame is the shared
 * payload JSON with this subscriber's envelope around it, byte for byte what graphql-ws would send
 * (`{"id","type":"next","payload"}`, errors as GraphQLError#toJSON), without a stringify per subscriber.
 * A client that cannot keep up is closed with 1013 (try again later) once MAX_UNSENT_BYTES wait in its
 * buffers, instead of letting the server's memory grow without bound.
 */
export function nextFrames(
  socket: Pick<WebSocket, 'readyState' | 'send' | 'close' | 'bufferedAmount'>,
  stream: Pick<Duplex, 'writableLength'>,
  id: string,
  beforeWrite: () => void,
  maxUnsent = MAX_UNSENT_BYTES,
): (payload: string) => void {
  const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  return (payload) => {
    if (socket.readyState !== WebSocket.OPEN) return;
    if (stream.writableLength + socket.bufferedAmount > maxUnsent) {
      socket.close(1013, `subscriber too slow: more than ${Math.round(maxUnsent / 1048576)} MiB of unsent messages`);
      return;
    }
    beforeWrite();
    socket.send(`${head}${payload}}`);
  };
}

/**
 * Corks a connection's stream at its first write in this turn of the event loop and uncorks every corked
 * stream when the turn ends (setImmediate), so the frames of a burst of events (a Kafka batch) leave as one
 * write per connection instead of one per event and connection; a lone event costs one cork/uncork.
 */
function createBurstWriter(): (stream: Duplex) => void {
  const corked: Duplex[] = [];
  const uncorkAll = () => {
    for (const stream of corked) stream.uncork();
    corked.length = 0;
  };
  return (stream) => {
    if (stream.writableCorked > 0) return;
    stream.cork();
    if (corked.push(stream) === 1) setImmediate(uncorkAll);
  };
}

/**
 * What graphql-ws iterates for a shared subscription: it yields nothing (the frames are written directly)
 * and finishes when the shared source ends, so graphql-ws then sends `complete`. graphql-ws calls
 * `return()` when the client completes the subscription or disconnects.
 */
function untilEnded(membership: Membership): AsyncIterableIterator<never> {
  const iterator: AsyncIterableIterator<never> = {
    next: () => membership.ended.then(() => ({ done: true, value: undefined })),
    return: () => membership.leave().then(() => ({ done: true, value: undefined })),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
