import { type Client, createClient } from 'graphql-ws';

/*
 * The dashboard's only ways to the server: GraphQL over HTTP (queries, mutations) and one graphql-ws
 * connection for every subscription, both on this origin's /graphql and authorised with the bearer token.
 */

/** A GraphQL error as the API types it (extensions.code: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT, …). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const HINTS: Record<string, string> = {
  UNAUTHENTICATED: ' Sign in with a token (the link `npm start` prints, or `npx rtrec token --role admin`).',
  FORBIDDEN: ' This token’s role may not do it: use an admin token (`npx rtrec token --role admin`).',
};

const errorOf = (errors: NonNullable<GraphQLResponse<unknown>['errors']>) => {
  const code = errors[0]?.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
  return new ApiError(`${errors.map((e) => e.message).join('; ')}${HINTS[code] ?? ''}`, code);
};

export interface Api {
  /** Runs a query or mutation; rejects with ApiError on any GraphQL error. */
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Subscribes; `onData` gets each result's data, `onError` a readable error. Returns the unsubscribe function. */
  subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError: (error: Error) => void): () => void;
  /** GET a path of this server with the token (e.g. /metrics). */
  get(path: string): Promise<Response>;
  close(): void;
}

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'refused';

/**
 * The API for one token. `onConnection` follows the WebSocket: live, reconnecting after a drop (graphql-ws
 * retries with backoff), or refused (4403: the token is invalid or expired; no retry, sign in again).
 */
export function createApi(token: string, onConnection: (state: ConnectionState, reason?: string) => void): Api {
  const authorization = `Bearer ${token}`;
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  let refused = false;
  const ws: Client = createClient({
    url: `${scheme}//${window.location.host}/graphql`,
    connectionParams: { authorization },
    lazy: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => !(event && typeof event === 'object' && 'code' in event && (event as CloseEvent).code === 4403),
    on: {
      connecting: () => onConnection(refused ? 'refused' : 'connecting'),
      connected: () => onConnection('live'),
      closed: (event) => {
        const close = event as CloseEvent | undefined;
        if (close?.code === 4403) {
          refused = true;
          onConnection('refused', close.reason || 'the server refused the token');
        } else onConnection('reconnecting', close?.reason);
      },
    },
  });
  return {
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization },
        body: JSON.stringify({ query, variables }),
      });
      let body: GraphQLResponse<T>;
      try {
        body = (await response.json()) as GraphQLResponse<T>;
      } catch {
        throw new ApiError(`The server answered HTTP ${response.status} without a GraphQL result: is the API running?`, 'HTTP');
      }
      if (body.errors?.length) throw errorOf(body.errors);
      if (!body.data) throw new ApiError(`HTTP ${response.status} with no data`, 'HTTP');
      return body.data;
    },
    subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError: (error: Error) => void): () => void {
      return ws.subscribe<T>(
        { query, variables },
        {
          next: (result) => {
            if (result.errors?.length) onError(errorOf(result.errors as NonNullable<GraphQLResponse<T>['errors']>));
            else if (result.data) onData(result.data as T);
          },
          error: (error) => {
            if (Array.isArray(error)) onError(errorOf(error));
            else if (error instanceof Error) onError(error);
            // A CloseEvent: the connection status reports it; graphql-ws resubscribes after reconnecting.
          },
          complete: () => undefined,
        },
      );
    },
    get: (path: string) => fetch(path, { headers: { authorization } }),
    close: () => void ws.dispose(),
  };
}
