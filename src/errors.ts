/** Stable error codes for expected failures; anything else is an internal error and is masked over the wire. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'OUT_OF_STOCK'
  | 'EMPTY_CART'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CONFIG_INVALID'
  | 'DB_START_FAILED'
  | 'DB_UNAVAILABLE'
  | 'STACK_START_FAILED'
  | 'ENGINE_RESOLVE_FAILED'
  | 'JAVA_NOT_FOUND'
  | 'PORT_IN_USE'
  | 'MIGRATION_FAILED'
  | 'CONNECT_UNAVAILABLE'
  | 'CONNECT_FAILED'
  | 'KAFKA_UNAVAILABLE'
  | 'FLINK_UNAVAILABLE'
  | 'FLINK_SQL_ERROR'
  | 'PYTHON_UNAVAILABLE'
  | 'MODEL_FIT_FAILED'
  | 'RESET_REFUSED'
  | 'RESET_INCOMPLETE'
  | 'CURSOR_EXPIRED';

/** An expected, user-facing failure. The message says what to do about it. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string, id: number | string) =>
  new AppError('NOT_FOUND', `${what} ${id} does not exist. Query the list to find a valid id.`, { what, id });
