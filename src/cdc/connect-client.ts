import { AppError } from '../errors.js';
import type { ConnectorDefinition } from './connector.js';

export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string; trace?: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
  type: string;
}

/** A small client for the Kafka Connect REST API (the seed's curl calls, with errors that say what to do). */
export function createConnectClient(baseUrl: string, timeoutMs = 10_000) {
  async function call<T>(method: string, path: string, body?: unknown, allow404 = false): Promise<T | undefined> {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new AppError(
        'CONNECT_UNAVAILABLE',
        `Kafka Connect is not reachable at ${baseUrl} (${(error as Error).message}). Start it with \`npx rtrec stack up\` or set CONNECT_URL.`,
      );
    }
    if (response.status === 404 && allow404) return undefined;
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: keep the text
      }
      throw new AppError(
        response.status === 404 ? 'NOT_FOUND' : response.status === 400 ? 'BAD_USER_INPUT' : 'CONNECT_FAILED',
        `Kafka Connect ${method} ${path} → ${response.status}: ${message}`,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  return {
    url: baseUrl,
    list: async () => (await call<string[]>('GET', '/connectors')) ?? [],
    plugins: async () => (await call<{ class: string; type: string; version: string }[]>('GET', '/connector-plugins')) ?? [],
    status: (name: string) => call<ConnectorStatus>('GET', `/connectors/${encodeURIComponent(name)}/status`, undefined, true),
    config: (name: string) => call<Record<string, string>>('GET', `/connectors/${encodeURIComponent(name)}/config`, undefined, true),
    /** Creates the connector, or updates its config if it exists (PUT is idempotent). */
    async upsert(definition: ConnectorDefinition): Promise<{ created: boolean }> {
      const existing = await call<Record<string, string>>('GET', `/connectors/${encodeURIComponent(definition.name)}/config`, undefined, true);
      await call('PUT', `/connectors/${encodeURIComponent(definition.name)}/config`, { ...definition.config, name: definition.name });
      return { created: existing === undefined };
    },
    async remove(name: string): Promise<boolean> {
      const existing = await call('GET', `/connectors/${encodeURIComponent(name)}`, undefined, true);
      if (existing === undefined) return false;
      await call('DELETE', `/connectors/${encodeURIComponent(name)}`);
      return true;
    },
    restart: (name: string) => call('POST', `/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=true`),
  };
}

export type ConnectClient = ReturnType<typeof createConnectClient>;
