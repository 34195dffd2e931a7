import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/env.js';
import { ensureDatabaseUrls, locateDatabase } from '../database/database.js';
import { ensurePublication } from '../database/privileges.js';
import { connectionFields } from '../database/url.js';
import { AppError } from '../errors.js';
import { type ConnectClient, createConnectClient } from './connect-client.js';
import { type ConnectorDefinition, DEFAULT_CONNECTOR_FILE, loadConnector, placeholdersFor } from './connector.js';

const POSTGRES_CONNECTOR = 'io.debezium.connector.postgresql.PostgresConnector';

/** Where the managed Connect worker reads the connector's database password (FileConfigProvider). */
export const connectSecretsFile = (config: Config) => join(config.dataDir, 'stack', 'connect', 'secrets', 'database.properties');

/** A value as a java.util.Properties file writes it (backslashes, line breaks and leading spaces escaped). */
function propertiesValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/^ /, '\\ ');
}

/**
 * The connector file with its placeholders filled from the database and topic prefix in use, connecting as the
 * Debezium role. For the worker `rtrec stack` runs, `${db.password}` becomes a FileConfigProvider reference to
 * a 0600 file (the embedded server's own password file of the role, else one beside the worker), so Connect's
 * REST API (`GET /connectors/<name>/config`) and its config topic never hold the password; an external worker
 * (CONNECT_URL) gets the password itself, or use your own provider in the file. With
 * `publication.autocreate.mode=disabled` the owner creates the publication first (Debezium's role may not).
 */
export async function resolveConnector(config: Config, file = DEFAULT_CONNECTOR_FILE): Promise<ConnectorDefinition> {
  const urls = await ensureDatabaseUrls(config);
  const placeholders = placeholdersFor(urls.cdc, config.cdc.topicPrefix, config.cdc.slotName, config.engines.dbAddress);
  const embedded = locateDatabase(config).embedded;
  if (!config.connect.external && embedded) {
    placeholders['db.password'] = `\${file:${embedded.passwordFileOf('cdc')}:password}`;
  } else if (!config.connect.external) {
    const secrets = connectSecretsFile(config);
    const dir = join(secrets, '..');
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    writeFileSync(secrets, `password=${propertiesValue(placeholders['db.password'])}\n`, { mode: 0o600 });
    chmodSync(secrets, 0o600);
    placeholders['db.password'] = `\${file:${secrets}:password}`;
  }
  const definition = loadConnector(file, placeholders);
  const c = definition.config;
  if (c['publication.autocreate.mode'] === 'disabled' && c['publication.name'] && c['table.include.list']) {
    const tables = c['table.include.list'].split(',').map((t) => t.trim());
    await ensurePublication(urls.owner, c['publication.name'], tables, connectionFields(urls.cdc).user);
  }
  return definition;
}

/** Polls until the connector and its tasks are RUNNING, or reports the failure trace. */
export async function waitRunning(client: ConnectClient, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await client.status(name);
    const states = status ? [status.connector.state, ...status.tasks.map((t) => t.state)] : [];
    if (states.includes('FAILED')) {
      const trace = status!.connector.trace ?? status!.tasks.find((t) => t.trace)?.trace ?? '';
      throw new AppError(
        'CONNECT_FAILED',
        `Connector ${name} failed:\n${trace.split('\n').slice(0, 8).join('\n')}\nFix the cause, then run \`npx rtrec cdc register\` again.`,
      );
    }
    if (status && states.length > 1 && states.every((s) => s === 'RUNNING')) return;
    if (Date.now() > deadline)
      throw new AppError(
        'CONNECT_FAILED',
        `Connector ${name} is not RUNNING after ${timeoutMs / 1000} s (states: ${states.join(', ') || 'none'}). See \`npx rtrec cdc status ${name}\`.`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Registers (or updates) the Debezium connector and, unless told not to, waits until it streams.
 * Idempotent: registering the same definition again only re-applies its config.
 */
export async function registerConnector(
  config: Config,
  options: { file?: string; wait?: boolean } = {},
): Promise<{ definition: ConnectorDefinition; created: boolean }> {
  const definition = await resolveConnector(config, options.file);
  const client = createConnectClient(config.connect.url);
  const plugins = await client.plugins();
  if (definition.config['connector.class'] === POSTGRES_CONNECTOR && !plugins.some((p) => p.class === POSTGRES_CONNECTOR)) {
    throw new AppError(
      'CONNECT_FAILED',
      `Kafka Connect at ${config.connect.url} has no Debezium PostgreSQL connector plugin. \`npx rtrec stack up\` starts a worker that has it.`,
    );
  }
  const { created } = await client.upsert(definition);
  if (options.wait !== false) await waitRunning(client, definition.name);
  return { definition, created };
}
