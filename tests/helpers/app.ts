import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createServices } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/env.js';
import { createApp } from '../../src/server/app.js';
import type { TestDatabase } from './db.js';

export type App = ReturnType<typeof createApp>;

/**
 * The real HTTP application on a test database, driven in process through `app.fetch`. Its services come
 * from the composition root (with `env` as configuration), as `serve` builds them.
 */
export function createTestApp(t: TestDatabase, env: Record<string, string> = {}) {
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const services = createServices({ config, logger: t.logger, databaseUrl: t.url, db: t.db, pool: t.pool, storefront: t.storefront });
  const app = createApp(services);
  return { app, simulations: services.simulations, changes: services.changes, services };
}

export interface GqlResult<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } & Record<string, unknown> }[];
}

/** Runs a typed operation over HTTP (POST /graphql) and returns the parsed response. */
export async function gql<T, V>(app: App, doc: TypedDocumentNode<T, V> | string, variables?: V, headers: Record<string, string> = {}): Promise<GqlResult<T>> {
  const response = await app.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: typeof doc === 'string' ? doc : print(doc), variables }),
  });
  return (await response.json()) as GqlResult<T>;
}
