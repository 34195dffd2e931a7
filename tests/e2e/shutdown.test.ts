import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateData } from '../../src/datagen/generate.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
let env: Record<string, string>;
beforeAll(async () => {
  t = await createTestDatabase('drain');
  await generateData(t.pool, { categories: 4, products: 40, customers: 40, seed: 5 });
  env = { DATABASE_URL: t.url, LOG_LEVEL: 'info' };
}, 120_000);
afterAll(() => t?.drop());

const LIST = '{ customers(first: 20) { totalCount edges { node { customerId firstName orders(first: 2) { totalCount } } } } }';

describe('rtrec serve on SIGTERM', () => {
  it('answers every request it accepted, refuses later ones with 503, closes WebSockets with 1001 and SSE streams, and logs no error', async () => {
    const server = await startCli(['serve', '--port', '0', '--no-cdc'], env, /ready/);
    let exitCode: number | undefined;
    const outcomes: string[] = [];
    try {
      const base = /GraphQL \+ GraphiQL\s+(http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(server.output())![1]!;
      const minted = await runCli(['token', '--role', 'admin', '--ttl', '10m'], env);
      const authorization = `Bearer ${minted.stdout.trim()}`;

      // A WebSocket subscriber and an SSE subscriber, both live before the signal.
      const wsClosed = new Promise<number>((resolve) => {
        const client = createClient({
          url: `${base.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization },
          retryAttempts: 0,
          on: { closed: (event) => resolve((event as { code: number }).code) },
        });
        client.subscribe(
          { query: 'subscription { customerChanged { operation } }' },
          { next: () => undefined, error: () => undefined, complete: () => undefined },
        );
      });
      const sse = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization },
        body: JSON.stringify({ query: 'subscription { orderChanged { operation } }' }),
      });
      expect(sse.status).toBe(200);
      const sseEnded = (async () => {
        const reader = sse.body!.getReader();
        for (;;) {
          const { done } = await reader.read().catch(() => ({ done: true }));
          if (done) return true;
        }
      })();
      await new Promise((r) => setTimeout(r, 300));

      // 16 clients querying as fast as they can; each stops at its first 503 or refused connection.
      let signalled = false;
      const client = async () => {
        for (;;) {
          try {
            const response = await fetch(`${base}/graphql`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization },
              body: JSON.stringify({ query: LIST }),
            });
            const body = (await response.json()) as { data?: { customers?: { totalCount: number } }; errors?: unknown; error?: { code: string } };
            if (response.status === 200 && body.data?.customers?.totalCount === 40 && !body.errors)
              outcomes.push(signalled ? 'answered after the signal' : 'answered');
            else if (response.status === 503 && body.error?.code === 'SHUTTING_DOWN') return outcomes.push('503');
            else return outcomes.push(`unexpected ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
          } catch (error) {
            const code = (error as { cause?: { code?: string } }).cause?.code;
            return outcomes.push(code === 'ECONNREFUSED' ? 'refused' : `failed: ${String((error as { cause?: unknown }).cause ?? error)}`);
          }
        }
      };
      const clients = Array.from({ length: 16 }, client);
      await new Promise((r) => setTimeout(r, 1000));
      signalled = true;
      const exited = server.stop();
      await Promise.all(clients);
      exitCode = await exited;

      expect(await wsClosed).toBe(1001);
      expect(await sseEnded).toBe(true);
      expect(outcomes.filter((o) => o.startsWith('unexpected') || o.startsWith('failed'))).toEqual([]);
      expect(outcomes.filter((o) => o === 'answered').length).toBeGreaterThan(16);
      expect(outcomes.filter((o) => o === '503' || o === 'refused').length).toBe(16);
      expect(exitCode).toBe(0);
      const errors = server
        .output()
        .split('\n')
        .filter((line) => /"level":(50|60)/.test(line) || /Cannot use a pool|ECONNRESET|Error:/.test(line));
      expect(errors).toEqual([]);
    } finally {
      if (exitCode === undefined) await server.stop();
    }
  }, 120_000);
});
