import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type DocumentNode, type ExecutionArgs, type ExecutionResult, GraphQLError, Kind, type OperationDefinitionNode, print } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocket, WebSocketServer } from 'ws';
import { hostAllowed, originAllowed } from '../security/browser.js';
import { type RequestAuth, scopeKey, scopeOf } from '../security/policy.js';
import { createMulticaster, type Membership } from './multicast.js';

/** The server's yoga instance (its context type is the app's; the socket layer does not look into it). */
// biome-ignore lint/suspicious/noExplicitAny: the WebSocket layer serves any yoga app; its context stays opaque here.
export type AnyYoga = YogaServerInstance<any, any>;

/** yoga's execute/subscribe for one operation, carried to the graphql-ws hooks as the root value. */
interface Runner {
  execute(args: ExecutionArgs): Promise<ExecutionResult> | ExecutionResult;
  subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
}
const runner = (args: ExecutionArgs) => args.rootValue as Runner;

/** The limits and browser checks of the WebSocket endpoint (from the server config; see src/security/browser.ts). */
export interface SocketSettings {
  /** Largest message a client may send (ws closes the connection with 1009 beyond it). */
  maxPayloadBytes: number;
  /** Subscriptions one connection may hold at once. */
  maxSubscriptions: number;
  allowedHosts: ReadonlySet<string> | '*';
  corsOrigins: readonly string[];
  /** Told about connections and subscriptions (the metrics). */
  observer?: SocketObserver;
}

/** What the WebSocket endpoint reports (src/metrics implements it). */
export interface SocketObserver {
  connectionOpened(): void;
  connectionClosed(): void;
  /** A client's subscription started; the returned function is called once when it ends. */
  subscriptionStarted(document: DocumentNode, operationName: string | null | undefined): () => void;
}

/** The upgrade request as a Fetch Request for yoga, with the token of connection_init when the client sent one there. */
function requestOf(upgrade: IncomingMessage, authorization: unknown): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(upgrade.headers)) if (typeof value === 'string') headers.set(name, value);
  if (typeof authorization === 'string') headers.set('authorization', authorization);
  return new Request(`http://localhost${upgrade.url ?? '/graphql'}`, { headers });
}

/**
 * Whether the operation resumes from a cursor (an `after` argument with a value on a root field). Such an
 * execution replays what its client missed, so it is that client's alone: another client must not join it halfway.
 */
export function resumesFromCursor(args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>): boolean {
  const operations = args.document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = args.operationName ? operations.find((o) => o.name?.value === args.operationName) : operations[0];
  for (const selection of operation?.selectionSet.selections ?? []) {
    if (selection.kind !== Kind.FIELD) continue;
    for (const argument of selection.arguments ?? []) {
      if (argument.name.value !== 'after') continue;
      const value = argument.value;
      if (value.kind === Kind.VARIABLE) {
        const given = args.variableValues?.[value.name.value];
        if (given !== null && given !== undefined) return true;
      } else if (value.kind !== Kind.NULL) return true;
    }
  }
  return false;
}

/**
 * GraphQL over WebSocket (graphql-ws protocol) on the same path as HTTP, executed through yoga's own
 * envelop pipeline so the same context, limits and error masking apply. The upgrade is refused for a Host not
 * on the allow-list and for a browser Origin other than the server's own or CORS_ORIGINS; the token comes from
 * `connection_init` (`{ "authorization": "Bearer …" }`) or the upgrade's Authorization header, and an invalid
 * one closes the connection (4403). Returns a closer: it refuses new upgrades (503), closes every connection
 * with 1001 (going away: graphql-ws clients reconnect, resuming where they can) and gives their close
 * handshakes `graceMs` before it cuts what is left.
 */
export function attachWebSocket(server: Server, yoga: AnyYoga, settings: SocketSettings): (graceMs?: number) => Promise<void> {
  let closing = false;
  const wss = new WebSocketServer({
    server,
    path: yoga.graphqlEndpoint,
    maxPayload: settings.maxPayloadBytes,
    verifyClient: (info: { origin?: string; req: IncomingMessage }, done: (ok: boolean, status?: number, message?: string) => void) => {
      if (closing) return done(false, 503, 'The server is shutting down: reconnect in a moment');
      const host = info.req.headers.host;
      if (!hostAllowed(host, settings.allowedHosts)) return done(false, 421, 'Host not allowed: add it to ALLOWED_HOSTS');
      // Browsers always send Origin on a WebSocket upgrade; other clients need not.
      if (!originAllowed(info.req.headers.origin, host, settings.corsOrigins)) return done(false, 403, 'Origin not allowed: add it to CORS_ORIGINS');
      done(true);
    },
  });
  // One JSON serialisation per event, shared by every subscriber of the operation (see multicast.ts).
  const shared = createMulticaster<ExecutionResult, Buffer>(sharedPayload);
  // The socket, its TCP stream (the upgrade request's, which ws writes to) and the subscription id of each
  // operation, for the subscribe hook (which only gets the args).
  const deliveries = new WeakMap<object, { socket: WebSocket; stream: Duplex; id: string }>();
  const inBursts = createBurstWriter();
  const observer = settings.observer;
  if (observer) {
    wss.on('connection', (socket) => {
      observer.connectionOpened();
      socket.once('close', () => observer.connectionClosed());
    });
  }
  // Each client subscription is counted while its membership lasts (shared executions count once per client).
  const member = (args: ExecutionArgs, membership: Membership) => untilEnded(membership, observer?.subscriptionStarted(args.document, args.operationName));
  const disposable = useServer(
    {
      execute: (args) => runner(args).execute(args),
      // Clients with the same operation and the same read scope share one execution per event: what a
      // subscription delivers depends on the caller only through that scope (src/security/policy.ts), so
      // sharing cannot leak between clients.
      subscribe: async (args) => {
        const { socket, stream, id } = deliveries.get(args)!;
        const scope = scopeKey(scopeOf((args.contextValue as { auth: RequestAuth }).auth));
        const key = JSON.stringify([print(args.document), args.operationName ?? null, args.variableValues ?? {}, scope]);
        const deliver = nextFrames(socket, stream, id, () => inBursts(stream));
        if (resumesFromCursor(args)) {
          const result = await runner(args).subscribe(args);
          if (!(Symbol.asyncIterator in result)) return result;
          return member(
            args,
            shared.join(`${key}#${randomUUID()}`, deliver, () => result),
          );
        }
        if (shared.has(key)) return member(args, shared.join(key, deliver));
        const result = await runner(args).subscribe(args);
        if (!(Symbol.asyncIterator in result)) return result;
        if (shared.has(key)) {
          // Another client opened the same operation meanwhile: join it and close this source.
          await result.return?.();
          return member(args, shared.join(key, deliver));
        }
        return member(
          args,
          shared.join(key, deliver, () => result),
        );
      },
      onConnect: async (ctx) => {
        // The same authentication as HTTP (yoga's context): an invalid token refuses the connection with its reason.
        const request = requestOf(ctx.extra.request, ctx.connectionParams?.authorization);
        try {
          const context = (await yoga.getEnveloped({ ...ctx, request }).contextFactory()) as { auth?: RequestAuth };
          closeAtExpiry(ctx.extra.socket, context.auth?.principal.expiresAt);
          return true;
        } catch (error) {
          const reason = error instanceof GraphQLError ? error.message : 'authentication failed';
          ctx.extra.socket.close(4403, Buffer.byteLength(reason) <= 123 ? reason : 'Forbidden: invalid token');
          return false;
        }
      },
      onSubscribe: async (ctx, id, params) => {
        const upgrade = ctx.extra.request;
        // graphql-ws has registered this one already.
        if (Object.keys(ctx.subscriptions).length > settings.maxSubscriptions) {
          return [
            new GraphQLError(
              `At most ${settings.maxSubscriptions} subscriptions per connection (WS_MAX_SUBSCRIPTIONS): complete one, or open another connection.`,
              {
                extensions: { code: 'BAD_USER_INPUT' },
              },
            ),
          ];
        }
        const request = requestOf(upgrade, ctx.connectionParams?.authorization);
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
  return async (graceMs = 2000) => {
    closing = true;
    const open = [...wss.clients];
    const closed = Promise.all(
      open.map((client) => new Promise<void>((resolve) => (client.readyState === client.CLOSED ? resolve() : client.once('close', () => resolve())))),
    );
    for (const client of open) client.close(1001, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const client of wss.clients) client.terminate();
    await disposable.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

/**
 * Closes an authenticated connection when its token expires (4403), so a subscription does not outlive the
 * token it was allowed with; the client reconnects with a fresh one.
 */
function closeAtExpiry(socket: WebSocket, expiresAt: number | undefined): void {
  if (expiresAt === undefined) return;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) return socket.close(4403, 'Forbidden: the token has expired, reconnect with a new one');
    // setTimeout holds at most ~24.8 days; longer tokens are re-armed.
    timer = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
    timer.unref();
  };
  arm();
  socket.once('close', () => clearTimeout(timer));
}

/** A subscriber that lets this much pile up unsent (it reads slower than changes arrive) is disconnected. */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024;

/**
 * An event's payload as every subscriber's `next` frame ends: the result's JSON and the envelope's closing
 * brace, UTF-8 encoded once per event.
 */
export function sharedPayload(result: ExecutionResult): Buffer {
  return Buffer.from(`${JSON.stringify(result)}}`);
}

/**
 * Writes graphql-ws `next` messages for subscription `id` straight to the connection: the frame is the shared
 * payload bytes with this subscriber's envelope around it, byte for byte what graphql-ws would send
 * (`{"id","type":"next","payload"}`, errors as GraphQLError#toJSON), without a stringify per subscriber.
 * When the connection negotiated no WebSocket extension (no compression: ws sends every frame synchronously,
 * so nothing of its own can be pending), the whole WebSocket frame — header, envelope, payload — is built in
 * one buffer and written to the TCP stream in one call, skipping the per-message work of `socket.send` (a
 * string's UTF-8 length and encoding per subscriber, the frame options, two writes); otherwise it goes
 * through `socket.send`.
 * A client that cannot keep up is closed with 1013 (try again later) once MAX_UNSENT_BYTES wait in its
 * buffers, instead of letting the server's memory grow without bound.
 */
export function nextFrames(
  socket: Pick<WebSocket, 'readyState' | 'send' | 'close' | 'bufferedAmount' | 'extensions'>,
  stream: Pick<Duplex, 'writableLength' | 'write'>,
  id: string,
  beforeWrite: () => void,
  maxUnsent = MAX_UNSENT_BYTES,
): (payload: Buffer) => void {
  const head = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  return (payload) => {
    if (socket.readyState !== WebSocket.OPEN) return;
    if (stream.writableLength + socket.bufferedAmount > maxUnsent) {
      socket.close(1013, `subscriber too slow: more than ${Math.round(maxUnsent / 1048576)} MiB of unsent messages`);
      return;
    }
    beforeWrite();
    if (socket.extensions !== '') {
      socket.send(Buffer.concat([head, payload]), { binary: false });
      return;
    }
    const length = head.length + payload.length;
    const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(headerLength + length);
    // FIN + text opcode; server frames are not masked (RFC 6455 §5.1).
    frame[0] = 0x81;
    if (headerLength === 2) {
      frame[1] = length;
    } else if (headerLength === 4) {
      frame[1] = 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 127;
      frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
      frame.writeUInt32BE(length >>> 0, 6);
    }
    head.copy(frame, headerLength);
    payload.copy(frame, headerLength + head.length);
    stream.write(frame);
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
function untilEnded(membership: Membership, onEnd?: () => void): AsyncIterableIterator<never> {
  if (onEnd) void membership.ended.then(onEnd);
  const iterator: AsyncIterableIterator<never> = {
    next: () => membership.ended.then(() => ({ done: true, value: undefined })),
    return: () => membership.leave().then(() => ({ done: true, value: undefined })),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
