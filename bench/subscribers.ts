/**
 * A bench child process that holds graphql-ws subscribers, so the server's process and event loop are
 * not shared with the clients. Started by bench/cdc.ts through `fork` and driven over IPC:
 *
 *   argv: <ws url> <subscribers> <sample every n-th>
 *   → { type: 'ready', failed }    once every client is subscribed (connection acknowledged, subscribe sent)
 *                                  or has failed to
 *   ← { type: 'reset' }            zero the counters (end of warm-up)
 *   ← { type: 'report' }           → { type: 'report', delivered, lastDelivery, latencies, committed, errors }
 *                                  (committed[i]: the commit time, in ms, of the change latencies[i] was measured on)
 *   ← { type: 'stop' }             close every connection and exit
 *
 * The clients are as cheap as they can be in Node, so that the bench measures the server, not its clients:
 * each is a bare TCP socket that does the WebSocket handshake (RFC 6455) and speaks the graphql-ws protocol
 * (graphql-transport-ws) by hand — connection_init, wait for connection_ack, subscribe, answer pings —
 * instead of a full graphql-ws client over `ws` (which parses, validates and dispatches every message through
 * promises, and whose Readable stream and frame receiver alone cost several µs per message). Reads arrive
 * through `onread` into one buffer shared by every socket (no Buffer, no stream event per read), and frames
 * are parsed in place. Every subscription has its own random id, as graphql-ws clients do, so the server
 * cannot share one frame between subscribers. A `next` frame is recognised by its bytes
 * (`{"id":"<id>","type":"next"`) and only counted; only the sampled subscribers parse the JSON for the commit
 * time. Any other message is parsed and handled (ping → pong; error / complete counted as errors). No
 * compression is offered, and a server that answers with any WebSocket extension is an error.
 *
 * Latency = receive time − the commit time the server reports, on this machine's clock (same as the writer's).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const [url = '', countArg, sampleArg] = process.argv.slice(2);
const count = Number(countArg);
const sampleEvery = Number(sampleArg);
if (!url || !(count > 0) || !(sampleEvery > 0)) throw new Error('usage: subscribers.ts <ws url> <subscribers> <sample every n-th>');
const target = new URL(url);
/** The token bench/cdc.ts minted for the server, sent in connection_init. */
const token = process.env.RTREC_BENCH_TOKEN;
if (target.protocol !== 'ws:') throw new Error(`only ws:// URLs: ${url}`);

const send = (message: object) => process.send!(message);
let latencies: number[] = [];
let committed: number[] = [];
let delivered = 0;
let lastDelivery = 0;
/** error / complete messages, protocol violations and sockets that closed while subscribed. */
let errors = 0;
let stopping = false;
const query = 'subscription { customerChanged { committedAt } }';
const CONNECT_BATCH = 500;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const NEXT = Buffer.from('next');
/** Every socket reads into this one buffer: `onread` callbacks run synchronously, one at a time. */
const readBuffer = Buffer.allocUnsafe(256 * 1024);
const subscribers: Subscriber[] = [];
let failed = 0;

/** A client → server frame: FIN, `opcode`, masked with a random key as RFC 6455 §5.3 requires of clients. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : 4;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | opcode;
  if (headerLength === 2) {
    frame[1] = 0x80 | length;
  } else {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, headerLength);
  for (let i = 0; i < length; i++) frame[headerLength + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

class Subscriber {
  readonly id = randomUUID();
  /** Offset of the message type in this subscription's `next` frames: after `{"id":"<id>","type":"`. */
  readonly typeAt = Buffer.byteLength(`{"id":${JSON.stringify(this.id)},"type":"`);
  readonly key = randomBytes(16).toString('base64');
  state: 'upgrading' | 'initialising' | 'subscribed' | 'closed' = 'upgrading';
  /** Bytes of an incomplete HTTP response or frame, kept until the next read completes it. */
  rest: Buffer | null = null;
  readonly socket: Socket;

  constructor(
    readonly sampled: boolean,
    private readonly settle: (ok: boolean) => void,
  ) {
    this.socket = connect({
      host: target.hostname,
      port: Number(target.port || 80),
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (n: number) => {
          this.read(readBuffer.subarray(0, n));
          return true;
        },
      },
    });
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
      );
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      const was = this.state;
      this.state = 'closed';
      if (was === 'subscribed') {
        if (!stopping) errors++;
      } else if (was !== 'closed') {
        this.settle(false);
      }
    });
  }

  send(text: string): void {
    this.socket.write(clientFrame(0x1, Buffer.from(text)));
  }

  close(): void {
    if (this.state === 'closed') return;
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    this.socket.end(clientFrame(0x8, code));
  }

  private fail(): void {
    errors++;
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    let data = chunk;
    if (this.rest) {
      data = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    let at = 0;
    if (this.state === 'upgrading') {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        this.rest = Buffer.from(data);
        return;
      }
      const response = data.subarray(0, end).toString('latin1');
      const accept = createHash('sha1')
        .update(this.key + GUID)
        .digest('base64');
      if (
        !/^HTTP\/1\.1 101 /.test(response) ||
        !new RegExp(`^sec-websocket-accept: *${accept.replace(/[+/]/g, '\\$&')}\\s*$`, 'im').test(response) ||
        !/^sec-websocket-protocol: *graphql-transport-ws\s*$/im.test(response)
      ) {
        this.socket.destroy();
        return;
      }
      if (/^sec-websocket-extensions:/im.test(response)) throw new Error(`the server negotiated a WebSocket extension:\n${response}`);
      this.state = 'initialising';
      this.send(JSON.stringify({ type: 'connection_init', ...(token && { payload: { authorization: `Bearer ${token}` } }) }));
      at = end + 4;
    }
    while (at + 2 <= data.length) {
      const b0 = data[at]!;
      let length = data[at + 1]!;
      let start = at + 2;
      if (length & 0x80) return this.fail(); // server frames are never masked
      if (length === 126) {
        if (at + 4 > data.length) break;
        length = data.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        if (at + 10 > data.length) break;
        length = Number(data.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (start + length > data.length) break;
      at = start + length;
      if (b0 === 0x81) this.message(data, start, length);
      else if (b0 === 0x89) this.socket.write(clientFrame(0xa, Buffer.from(data.subarray(start, start + length))));
      else if (b0 === 0x88) this.socket.end(clientFrame(0x8, Buffer.from(data.subarray(start, start + Math.min(length, 2)))));
      else if (b0 !== 0x8a) return this.fail(); // fragmented, binary or reserved: not what the server sends
    }
    // `data` may be the shared read buffer: copy what is left.
    if (at < data.length) this.rest = Buffer.from(data.subarray(at));
  }

  /** One text message, data[start, start + length). */
  private message(data: Buffer, start: number, length: number): void {
    const typeAt = start + this.typeAt;
    if (this.state === 'subscribed' && length > this.typeAt + 4 && data.compare(NEXT, 0, 4, typeAt, typeAt + 4) === 0) {
      const now = Date.now();
      delivered++;
      lastDelivery = now;
      if (this.sampled) {
        const value = JSON.parse(data.toString('utf8', start, start + length)) as { payload: { data: { customerChanged: { committedAt: string } } } };
        const at = Date.parse(value.payload.data.customerChanged.committedAt);
        latencies.push(now - at);
        committed.push(at);
      }
      return;
    }
    const message = JSON.parse(data.toString('utf8', start, start + length)) as { type: string };
    if (message.type === 'connection_ack' && this.state === 'initialising') {
      this.state = 'subscribed';
      this.send(JSON.stringify({ id: this.id, type: 'subscribe', payload: { query } }));
      this.settle(true);
    } else if (message.type === 'ping') {
      this.send('{"type":"pong"}');
    } else if (message.type !== 'pong') {
      errors++;
    }
  }
}

/** Opens one connection and its subscription; resolves once it is subscribed or has failed to. */
function open(i: number): Promise<void> {
  return new Promise((resolve) => {
    subscribers.push(
      new Subscriber(i % sampleEvery === 0, (ok) => {
        if (!ok) failed++;
        resolve();
      }),
    );
  });
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'reset') {
    latencies = [];
    committed = [];
    delivered = 0;
    lastDelivery = 0;
    errors = 0;
  } else if (message.type === 'report') {
    send({ type: 'report', delivered, lastDelivery, latencies, committed, errors });
  } else if (message.type === 'stop') {
    stopping = true;
    let open = subscribers.filter((s) => s.state !== 'closed').length;
    if (open === 0) process.exit(0);
    for (const subscriber of subscribers) {
      if (subscriber.state === 'closed') continue;
      subscriber.socket.once('close', () => --open === 0 && process.exit(0));
      subscriber.close();
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
