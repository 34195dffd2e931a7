/**
 * A bench child process that holds graphql-ws subscribers, so the server's process and event loop are
 * not shared with the clients. Started by bench/cdc.ts through `fork` and driven over IPC:
 *
 *   argv: <ws url> <subscribers> <sample every n-th>
 *   → { type: 'ready', failed }    once every client is connected (its subscription sent) or has failed
 *   ← { type: 'reset' }            zero the counters (end of warm-up)
 *   ← { type: 'report' }           → { type: 'report', delivered, lastDelivery, latencies }
 *   ← { type: 'stop' }             dispose every client and exit
 *
 * Latency = receive time − the commit time the server reports, on this machine's clock (same as the writer's).
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const [url = '', countArg, sampleArg] = process.argv.slice(2);
const count = Number(countArg);
const sampleEvery = Number(sampleArg);
if (!url || !(count > 0) || !(sampleEvery > 0)) throw new Error('usage: subscribers.ts <ws url> <subscribers> <sample every n-th>');

const send = (message: object) => process.send!(message);
let latencies: number[] = [];
let delivered = 0;
let lastDelivery = 0;
const query = 'subscription { customerChanged { committedAt } }';
const CONNECT_BATCH = 500;
const clients: Client[] = [];
let failed = 0;
/** Opens one client and its subscription; resolves once it is connected or has failed to. */
function open(i: number): Promise<void> {
  return new Promise((resolve) => {
    let connected = false;
    const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => undefined });
    client.on('connected', () => {
      connected = true;
      resolve();
    });
    client.on('closed', () => {
      if (!connected) {
        failed++;
        resolve();
      }
    });
    clients.push(client);
    const sampled = i % sampleEvery === 0;
    client.subscribe({ query }, {
      next: (value) => {
        const now = Date.now();
        delivered++;
        lastDelivery = now;
        if (sampled) latencies.push(now - Date.parse((value.data as { customerChanged: { committedAt: string } }).customerChanged.committedAt));
      },
      error: () => undefined,
      complete: () => undefined,
    });
  });
}
process.on('message', (message: { type: string }) => {
  if (message.type === 'reset') {
    latencies = [];
    delivered = 0;
    lastDelivery = 0;
  } else if (message.type === 'report') {
    send({ type: 'report', delivered, lastDelivery, latencies });
  } else if (message.type === 'stop') {
    void Promise.all(clients.map((c) => c.dispose())).finally(() => process.exit(0));
  }
});
// The parent going away must not leave 10k sockets open.
process.on('disconnect', () => process.exit(0));

// In batches, so 10k connection attempts do not overflow the server's accept backlog at once.
for (let i = 0; i < count; i += CONNECT_BATCH) {
  await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, count - i) }, (_, j) => open(i + j)));
}
send({ type: 'ready', failed });
