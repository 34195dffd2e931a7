import { createServer } from 'node:net';

export { freePort } from '../../src/common/net.js';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The first port of `count` consecutive free ports, below the kernel's ephemeral range (32768+) so that
 * ports the OS hands out to other tests' clients and `freePort()` never land inside the block. For
 * engines such as Flink that take a base port and the ones after it.
 */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20000 + Math.floor(Math.random() * ((32000 - 20000 - count) / count)) * count;
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await canBind(p);
    if (free) return base;
  }
  throw new Error(`no block of ${count} free ports found between 20000 and 32000`);
}
