import { createServer } from 'node:net';

/** A port nobody listens on right now (the OS picks it), so a test or a soak never meets a developer's services. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
