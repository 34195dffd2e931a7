import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../errors.js';
import { type AnyYoga, attachWebSocket } from './websocket.js';

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0 picks a free one) and resolves with the base URL. */
export async function listen(app: AnyYoga, host: string, port: number): Promise<RunningServer> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE' ? new AppError('BAD_USER_INPUT', `Port ${port} on ${host} is in use: pass --port with a free port (or 0 for any).`) : error,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const closeWebSocket = attachWebSocket(server, app);
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
