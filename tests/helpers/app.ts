import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createServices, tokenServiceFor } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/env.js';
import { createApp } from '../../src/server/app.js';
import type { TestDatabase } from './db.js';

export type App = ReturnType<typeof createApp>;

/** The HS256 secret test apps verify tokens with (unless `env` sets another AUTH_SECRET). */
export const TEST_AUTH_SECRET = 'rtrec-tests-only-secret-0123456789abcdef';
const testTokens = tokenServiceFor(loadConfig({ AUTH_SECRET: TEST_AUTH_SECRET }));

export type TestRole = 'admin' | 'service' | 'analyst' | 'customer';

/** A token a test app accepts: `token('customer', 42)`, `token('admin')`. */
export function token(role: TestRole, customerId?: number, ttlSeconds = 3600): Promise<string> {
  return testTokens.sign({ role, customerId }, ttlSeconds);
}

/** `{ authorization: 'Bearer …' }` for the role; `as('anonymous')` is `{ authorization: '' }` (no token). */
export async function as(role: TestRole | 'anonymous', customerId?: number): Promise<Record<string, string>> {
  return { authorization: role === 'anonymous' ? '' : `Bearer ${await token(role, customerId)}` };
}

/** Nothing listens on the discard port: a test app does not reach the engines of a demo stack left running. */
const CLOSED = 'http://127.0.0.1:9';

/**
 * Kafka Connect's and Flink's URLs for a test app whose `env` names neither their URL nor their port: a closed port,
 * not the default ports where `npm start`'s stack may answer (which would change what the app may do, e.g. clearData).
 */
function closedEngines(env: Record<string, string>): Record<string, string> {
  const closed: Record<string, string> = {};
  if (!env.CONNECT_URL && !env.CONNECT_PORT) closed.CONNECT_URL = CLOSED;
  if (!env.FLINK_REST_URL && !env.FLINK_PORT) closed.FLINK_REST_URL = CLOSED;
  if (!env.FLINK_SQL_GATEWAY_URL && !env.FLINK_SQL_GATEWAY_PORT) closed.FLINK_SQL_GATEWAY_URL = CLOSED;
  return closed;
}

/**
 * The real HTTP application on a test database, driven in process through `app.fetch`. Its services come
 * from the composition root (with `env` as configuration), as `serve` builds them; it accepts the tokens of
 * `token()` / `as()`.
 */
export function createTestApp(t: TestDatabase, env: Record<string, string> = {}) {
  const config = loadConfig({ LOG_LEVEL: 'silent', AUTH_SECRET: TEST_AUTH_SECRET, ...closedEngines(env), ...env });
  const services = createServices({ config, logger: t.logger, databaseUrl: t.url, db: t.db, pool: t.pool, storefront: t.storefront });
  const app = createApp(services);
  return { app, simulations: services.simulations, changes: services.changes, services };
}

export interface GqlResult<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } & Record<string, unknown> }[];
}

/**
 * Runs a typed operation over HTTP (POST /graphql) and returns the parsed response. It runs as admin unless
 * `headers` has an `authorization` of its own (`await as('customer', 7)`, or `as('anonymous')` for none).
 */
export async function gql<T, V>(app: App, doc: TypedDocumentNode<T, V> | string, variables?: V, headers: Record<string, string> = {}): Promise<GqlResult<T>> {
  const auth = 'authorization' in headers ? {} : await as('admin');
  const response = await app.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth, ...headers },
    body: JSON.stringify({ query: typeof doc === 'string' ? doc : print(doc), variables }),
  });
  return (await response.json()) as GqlResult<T>;
}

/**
 * A graphql-ws client of a listening test server (`http://host:port`), authenticated in `connection_init`
 * as admin unless another role is given (anonymous: no token).
 */
export function subscriptionClient(baseUrl: string, role: TestRole | 'anonymous' = 'admin', customerId?: number): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: async () => (role === 'anonymous' ? {} : { authorization: `Bearer ${await token(role, customerId)}` }),
  });
}
