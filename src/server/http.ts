import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import { allowedHosts } from '../security/browser.js';
import { type AnyYoga, attachWebSocket, type SocketObserver } from './websocket.js';

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

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
  const server = createServer((req, res) => {
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
    close: async () => {
      await closeWebSocket();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
