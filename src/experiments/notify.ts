import type pg from 'pg';
import { createChannelListener } from '../database/listener.js';
import type { Logger } from '../logging/logger.js';

/** The channel the experiment_results trigger notifies with an experiment id (migration 20261207100000_experiment_results_notify). */
export const RESULTS_CHANNEL = 'rtrec_experiment_results';

/**
 * One LISTEN connection on the results channel, opened on first use and reopened with backoff after a failure:
 * each notification calls `onResults` with the experiment id whose results the Flink job just wrote.
 */
export function createResultsListener(pool: pg.Pool, logger: Logger, onResults: (experimentId: number) => void) {
  const listener = createChannelListener(pool, logger, {
    channel: RESULTS_CHANNEL,
    onId: onResults,
    lostMessage: 'experiment results listener lost its connection; reconnecting',
    failedMessage: 'could not LISTEN for experiment results; retrying',
  });
  return { start: listener.start, close: listener.close };
}
