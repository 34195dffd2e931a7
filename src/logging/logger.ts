import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/**
 * What never reaches a log line: bearer tokens and passwords wherever a logged object carries them (request
 * headers, graphql-ws connection params, configuration, connector and database settings).
 */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  '*.*.authorization',
  '*.headers.authorization',
  '*.*.headers.authorization',
  'password',
  '*.password',
  '*.*.password',
  'passwordHash',
  '*.passwordHash',
  'token',
  '*.token',
  'secret',
  '*.secret',
  '*["database.password"]',
  '*.*["database.password"]',
];

/** Structured JSON logger on stderr, so CLI output on stdout stays machine-readable. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({ level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}
