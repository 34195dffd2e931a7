import { type Logger, pino } from 'pino';

export type { Logger };

/** Structured JSON logger on stderr, so CLI output on stdout stays machine-readable. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}
