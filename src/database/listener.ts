import pg from 'pg';
import type { Logger } from '../logging/logger.js';

export interface ChannelListenerOptions {
  /** The NOTIFY channel (an identifier: it is not quoted). */
  channel: string;
  /** Called with each notification's payload that is an integer id; other payloads are ignored. */
  onId: (id: number) => void;
  /** Called each time the LISTEN is (re-)established: notifications sent while it was down are lost. */
  onListening?: () => void;
  /** The warning logged when the connection is lost (it is then reopened). */
  lostMessage: string;
  /** The warning logged when connecting or LISTEN fails (it is then retried). */
  failedMessage: string;
}

/**
 * One LISTEN connection of its own (not a pool slot), opened on first use and reopened with backoff (0.5 s doubling
 * to 10 s) after a failure, until `close()` or the pool ends. Its socket does not keep the process alive.
 */
export function createChannelListener(pool: pg.Pool, logger: Logger, options: ChannelListenerOptions) {
  let client: pg.Client | undefined;
  let opening: Promise<void> | undefined;
  let closed = false;
  let retryMs = 500;

  function reopen(failed: pg.Client): void {
    if (client === failed) client = undefined;
    void failed.end().catch(() => undefined);
    if (closed || (pool as unknown as { ending?: boolean }).ending) return;
    const wait = retryMs;
    retryMs = Math.min(retryMs * 2, 10_000);
    setTimeout(() => {
      opening = undefined;
      void start();
    }, wait).unref();
  }

  function start(): Promise<void> {
    if (closed) return Promise.resolve();
    opening ??= (async () => {
      const c = new pg.Client(pool.options);
      // A connection is reopened once: an error is followed by an end, or an end comes alone.
      let lost = false;
      const lose = () => {
        if (lost) return;
        lost = true;
        reopen(c);
      };
      c.on('notification', (n) => {
        const id = Number(n.payload);
        if (Number.isInteger(id)) options.onId(id);
      });
      c.on('error', (error) => {
        logger.warn({ err: error }, options.lostMessage);
        lose();
      });
      c.on('end', lose);
      try {
        await c.connect();
        await c.query(`LISTEN ${options.channel}`);
        (c as unknown as { connection: { stream: { unref?: () => void } } }).connection.stream.unref?.();
        if (closed) {
          await c.end().catch(() => undefined);
          return;
        }
        client = c;
        retryMs = 500;
        options.onListening?.();
      } catch (error) {
        logger.warn({ err: error }, options.failedMessage);
        lose();
      }
    })();
    return opening;
  }

  return {
    /** Starts listening (idempotent); resolves once the LISTEN is in place or has failed (it then retries). */
    start,
    /** Whether the LISTEN connection is up now. */
    connected: () => client !== undefined,
    async close(): Promise<void> {
      closed = true;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
