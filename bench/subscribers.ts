/**
 * A bench child process that holds graphql-ws subscribers, so the server's process and event loop are
 * not shared with the clients. Started by bench/cdc.ts through `fork` and driven over IPC:
 *
 *   argv: <ws url> <subscribers> <sample every n-th>
 *   → { type: 'ready', failed }    once every client is subscribed (connection acknowledged, subscribe sent)
 *                                  or has failed to
 *   ← { type: 'reset' }            zero the counters (end of warm-up)
 *   ← { type: 'report' }           → { type: 'report', delivered, lastDelivery, latencies, errors }
 *   ← { type: 'stop' }             close every connection and exit
 *
 * The clients are cheap so that the bench measures the server, not its clients: each is a bare `ws` socket
 * that speaks the graphql-ws protocol (graphql-transport-ws) by hand — connection_init, wait for
 * connection_ack, subscribe, answer pings — instead of a full graphql-ws client (which parses, validates
 * and dispatches every message through promises). Every subscription has its own random id, as graphql-ws
 * clients do, so the server cannot share one frame between subscribers. A `next` frame is recognised by its
 * bytes (`{"id":"<id>","type":"next"`) and only counted; only the sampled subscribers parse the JSON for the
 * commit time. Any other message is parsed and handled (ping → pong; error / complete counted as errors).
 * No compression is offered (perMessageDeflate off) and UTF-8 validation is skipped.
 *
 * Latency = receive time − the commit time the server reports, on this machine's clock (same as the writer's).
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

const [url = '', countArg, sampleArg] = process.argv.slice(2);
const count = Number(countArg);
const sampleEvery = Number(sampleArg);
if (!url || !(count > 0) || !(sampleEvery > 0)) throw new Error('usage: subscribers.ts <ws url> <subscribers> <sample every n-th>');

const send = (message: object) => process.send!(message);
let latencies: number[] = [];
let delivered = 0;
let lastDelivery = 0;
/** error / complete messages and sockets that closed while subscribed. */
let errors = 0;
let stopping = false;
const query = 'subscription { customerChanged { committedAt } }';
const CONNECT_BATCH = 500;
const sockets: WebSocket[] = [];
let failed = 0;
const NEXT = Buffer.from('next');

/** Opens one connection and its subscription; resolves once it is subscribed or has failed to. */
function open(i: number): Promise<void> {
  return new Promise((resolve) => {
    const id = randomUUID();
    // `{"id":"<id>","type":"` precedes the type in the server's `next` frames.
    const typeAt = Buffer.byteLength(`{"id":${JSON.stringify(id)},"type":"`);
    const sampled = i % sampleEvery === 0;
    let subscribed = false;
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false, skipUTF8Validation: true });
    sockets.push(socket);
    socket.on('open', () => {
      if (socket.extensions !== '') throw new Error(`server negotiated WebSocket extensions: ${socket.extensions}`);
      socket.send('{"type":"connection_init"}');
    });
    socket.on('message', (data: Buffer) => {
      if (subscribed && data.length > typeAt + 4 && data.compare(NEXT, 0, 4, typeAt, typeAt + 4) === 0) {
        const now = Date.now();
        delivered++;
        lastDelivery = now;
        if (sampled) {
          const committedAt = (JSON.parse(data.toString()) as { payload: { data: { customerChanged: { committedAt: string } } } }).payload.data.customerChanged.committedAt;
          latencies.push(now - Date.parse(committedAt));
        }
        return;
      }
      const message = JSON.parse(data.toString()) as { type: string; id?: string };
      if (message.type === 'connection_ack' && !subscribed) {
        subscribed = true;
        socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));
        resolve();
      } else if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
      } else if (message.type === 'error' || message.type === 'complete') {
        errors++;
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!subscribed) {
        failed++;
        resolve();
      } else if (!stopping) {
        errors++;
      }
    });
  });
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'reset') {
    latencies = [];
    delivered = 0;
    lastDelivery = 0;
    errors = 0;
  } else if (message.type === 'report') {
    send({ type: 'report', delivered, lastDelivery, latencies, errors });
  } else if (message.type === 'stop') {
    stopping = true;
    let open = sockets.filter((s) => s.readyState !== WebSocket.CLOSED).length;
    if (open === 0) process.exit(0);
    for (const socket of sockets) {
      if (socket.readyState === WebSocket.CLOSED) continue;
      socket.once('close', () => --open === 0 && process.exit(0));
      socket.close(1000);
    }
    setTimeout(() => process.exit(0), 5000).unref();
  }
});
// The parent going away must not leave 10k sockets open.
process.on('disconnect', () => process.exit(0));

// In batches, so 10k connection attempts do not overflow the server's accept backlog at once.
for (let i = 0; i < count; i += CONNECT_BATCH) {
  await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, count - i) }, (_, j) => open(i + j)));
}
send({ type: 'ready', failed });
