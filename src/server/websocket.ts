import type { Server } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { print } from 'graphql';
import { createMulticaster } from './multicast.js';

/**
 * GraphQL over WebSocket (graphql-ws protocol) on the same path as HTTP, executed through yoga's own
 * envelop pipeline so the same context, limits and error masking apply. Returns a closer.
 */
export function attachWebSocket(server: Server, yoga: YogaServerInstance<any, any>): () => Promise<void> {
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const shared = createMulticaster<unknown>();
  const disposable = useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      // Clients with the same operation share one execution per event (see multicast.ts). Subscription
      // resolvers read nothing caller-specific from the context, so sharing cannot leak between clients.
      subscribe: async (args: any) => {
        const key = JSON.stringify([print(args.document), args.operationName ?? null, args.variableValues ?? {}]);
        if (shared.has(key)) return shared.subscribe(key);
        const result = await args.rootValue.subscribe(args);
        if (!(Symbol.asyncIterator in result)) return result;
        if (shared.has(key)) {
          // Another client opened the same operation meanwhile: join it and close this source.
          await result.return?.();
          return shared.subscribe(key);
        }
        return shared.subscribe(key, () => result);
      },
      onSubscribe: async (ctx, _id, params) => {
        const upgrade = ctx.extra.request;
        const headers = new Headers();
        for (const [name, value] of Object.entries(upgrade.headers)) if (typeof value === 'string') headers.set(name, value);
        const request = new Request(`http://localhost${upgrade.url ?? '/graphql'}`, { headers });
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ ...ctx, request, params });
        const args = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );
  return async () => {
    for (const client of wss.clients) client.terminate();
    await disposable.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}
