import type { Config } from '../config/env.js';
import { ensureDatabaseUrl } from '../database/database.js';
import { AppError } from '../errors.js';
import { type ConnectClient, createConnectClient } from './connect-client.js';
import { type ConnectorDefinition, DEFAULT_CONNECTOR_FILE, loadConnector, placeholdersFor } from './connector.js';

const POSTGRES_CONNECTOR = 'io.debezium.connector.postgresql.PostgresConnector';

/** The connector file with its placeholders filled from the database and topic prefix in use. */
export async function resolveConnector(config: Config, file = DEFAULT_CONNECTOR_FILE): Promise<ConnectorDefinition> {
  return loadConnector(file, placeholdersFor(await ensureDatabaseUrl(config), config.cdc.topicPrefix, config.cdc.slotName, config.engines.dbAddress));
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
