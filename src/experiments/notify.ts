import pg from 'pg';
import type { Logger } from '../logging/logger.js';

/** The channel the experiment_results trigger notifies with an experiment id (migration 20261207100000_experiment_results_notify). */
export const RESULTS_CHANNEL = 'rtrec_experiment_results';

/**
 * One LISTEN connection on the results channel, opened on first use and reopened with backoff after a failure:
 * each notification calls `onResults` with the experiment id whose results the Flink job just wrote.
 */
export function createResultsListener(pool: pg.Pool, logger: Logger, onResults: (experimentId: number) => void) {
  let client: pg.Client | undefined;
  let opening: Promise<void> | undefined;
  let closed = false;
  let retryMs = 500;

  function reopen(failed: pg.Client): void {
    if (client === failed) client = undefined;
    opening = undefined;
    void failed.end().catch(() => undefined);
    if (closed || (pool as unknown as { ending?: boolean }).ending) return;
    const wait = retryMs;
    retryMs = Math.min(retryMs * 2, 10_000);
    setTimeout(() => void open(), wait).unref();
  }

  function open(): Promise<void> {
    if (closed) return Promise.resolve();
    opening ??= (async () => {
      const c = new pg.Client(pool.options);
      c.on('notification', (n) => {
        const id = Number(n.payload);
        if (Number.isInteger(id)) onResults(id);
      });
      c.on('error', (error) => {
        logger.warn({ err: error }, 'experiment results listener lost its connection; reconnecting');
        reopen(c);
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${RESULTS_CHANNEL}`);
        (c as unknown as { connection: { stream: { unref?: () => void } } }).connection.stream.unref?.();
        client = c;
        retryMs = 500;
      } catch (error) {
        logger.warn({ err: error }, 'could not LISTEN for experiment results; retrying');
        reopen(c);
      }
    })();
    return opening;
  }

  return {
    /** Starts listening (idempotent); resolves once the LISTEN is in place or has failed (it then retries). */
    start: open,
    async close(): Promise<void> {
      closed = true;
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}
