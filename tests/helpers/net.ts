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

export interface EnginePorts {
  kafka: number;
  controller: number;
  connect: number;
  flink: number;
  gateway: number;
  /** Flink's managed cluster takes FLINK_RPC_PORT and the next 12 ports. */
  rpc: number;
}

/**
 * Free ports for every engine of a stack (one block), and the environment naming them: a test's `stack up` /
 * `stack down` then never meets the engines of `npm start`'s stack, left running on the default ports.
 */
export async function engineEnv(): Promise<{ ports: EnginePorts; env: Record<string, string> }> {
  const base = await freePortBlock(20);
  const ports = { kafka: base, controller: base + 1, connect: base + 2, flink: base + 3, gateway: base + 4, rpc: base + 5 };
  return {
    ports,
    env: {
      KAFKA_PORT: String(ports.kafka),
      KAFKA_CONTROLLER_PORT: String(ports.controller),
      CONNECT_PORT: String(ports.connect),
      FLINK_PORT: String(ports.flink),
      FLINK_SQL_GATEWAY_PORT: String(ports.gateway),
      FLINK_RPC_PORT: String(ports.rpc),
    },
  };
}
