import type { Api } from './api.js';
import type { TokenInfo } from './auth.js';

/** What every panel is given: the API for the signed-in token, and the token's claims. */
export interface PanelContext {
  api: Api;
  token: TokenInfo;
}

/** An error for a panel's error line. */
export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const pollers = new Set<() => void>();

/** Stops every poller (the token was refused: nothing more to ask with it). */
export function stopPolling(): void {
  for (const stop of pollers) stop();
}

/** Runs `task` now and every `ms` until the returned function (or stopPolling) is called; a failing run does not stop the next. */
export function every(ms: number, task: () => Promise<void>): () => void {
  let timer: number | undefined;
  let stopped = false;
  const run = async () => {
    try {
      await task();
    } finally {
      if (!stopped) timer = window.setTimeout(run, ms);
    }
  };
  const stop = () => {
    stopped = true;
    window.clearTimeout(timer);
    pollers.delete(stop);
  };
  pollers.add(stop);
  void run();
  return stop;
}
