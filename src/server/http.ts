import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import { allowedHosts } from '../security/browser.js';
import { type AnyYoga, attachWebSocket, type SocketObserver } from './websocket.js';

export interface RunningServer {
  server: Server;
  url: string;
  /**
   * Drains, then stops: new requests get 503 (SHUTTING_DOWN, with Connection: close), WebSockets close with
   * 1001, SSE streams end, and requests already accepted finish (up to `graceMs`, then their connections are
   * cut). Resolves when nothing of the server is left, so the pools can close after it.
   */
  close(graceMs?: number): Promise<void>;
}

/** How long a draining server must see no request before it closes its listener. */
const QUIET_MS = 250;
const SHUTTING_DOWN = JSON.stringify({ error: { code: 'SHUTTING_DOWN', message: 'The server is shutting down: retry in a moment (or on another instance).' } });

/** The request and WebSocket limits of the listener (defaults: those of an unconfigured server). */
export type ListenLimits = Pick<Config['server'], 'allowedHosts' | 'corsOrigins' | 'maxBodyBytes' | 'ws'>;
const DEFAULT_LIMITS: ListenLimits = {
  allowedHosts: undefined,
  corsOrigins: [],
  maxBodyBytes: 1024 * 1024,
  ws: { maxPayloadBytes: 64 * 1024, maxSubscriptions: 50 },
};

/** Listens on host:port (port 0 picks a free one) and resolves with the base URL; `observer` counts WebSocket connections and subscriptions. */
export async function listen(
  app: AnyYoga,
  host: string,
  port: number,
  limits: ListenLimits = DEFAULT_LIMITS,
  observer?: SocketObserver,
): Promise<RunningServer> {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  let requests = 0;
  const server = createServer((req, res) => {
    // Every request is tracked until its response is done, refusals included: the listener closes after them.
    requests++;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    if (draining) {
      // Answered once its body is read: closing a connection with unread bytes would reset it before the client reads the 503.
      req.once('end', () => {
        res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', connection: 'close', 'retry-after': '1' });
        res.end(SHUTTING_DOWN);
      });
      req.resume();
      return;
    }
    // yoga answers 413 to a too-large Content-Length before reading; a body of unknown length cannot be
    // bounded before it is read, so it is refused.
    if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined) {
      res.writeHead(411, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      res.end(
        JSON.stringify({ error: { code: 'LENGTH_REQUIRED', message: `Send the request body with a Content-Length (at most ${limits.maxBodyBytes} bytes).` } }),
      );
      req.resume();
      return;
    }
    void app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE' ? new AppError('BAD_USER_INPUT', `Port ${port} on ${host} is in use: pass --port with a free port (or 0 for any).`) : error,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const closeWebSocket = attachWebSocket(server, app, {
    maxPayloadBytes: limits.ws.maxPayloadBytes,
    maxSubscriptions: limits.ws.maxSubscriptions,
    allowedHosts: allowedHosts({ host, allowedHosts: limits.allowedHosts }),
    corsOrigins: limits.corsOrigins,
    observer,
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    close: async (graceMs = 10_000) => {
      // Still listening while it drains: a request that arrives now is answered 503, not cut; the listener
      // closes (and with it the idle keep-alive connections) once the accepted requests are done.
      draining = true;
      for (const res of inFlight) {
        // An SSE subscription never ends by itself: end its stream (EventSource clients reconnect).
        if (String(res.req.headers.accept ?? '').includes('text/event-stream')) {
          // yoga may still try to write the next event: that write fails quietly instead of throwing.
          res.on('error', () => undefined);
          res.end();
        } else if (!res.headersSent) res.setHeader('connection', 'close');
      }
      await closeWebSocket();
      // Done when no request is open and none arrived for QUIET_MS (clients on keep-alive connections have had
      // their 503 and gone), or after graceMs: closing the listener between two requests of a busy client
      // would reset the second instead of refusing it.
      const deadline = Date.now() + graceMs;
      for (;;) {
        const seen = requests;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(QUIET_MS, deadline - Date.now()))));
        if ((inFlight.size === 0 && requests === seen) || Date.now() >= deadline) break;
      }
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
    },
  };
}
