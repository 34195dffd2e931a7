import { timingSafeEqual } from 'node:crypto';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { MAX_PAGE_SIZE } from '../api/resources.js';
import { type Config, isLoopbackHost } from '../config/env.js';
import type { GraphQLContext } from '../graphql/context.js';
import { maskError } from '../graphql/errors.js';
import { schema } from '../graphql/schema/index.js';
import { createRestRouter } from '../rest/router.js';
import { version } from '../version.js';
import { usePageSizeLimit } from './page-size.js';

/** The services every request's context carries (from the composition root, src/app/context.ts), plus the server and GraphQL limits. */
export type AppDeps = Omit<GraphQLContext, 'admin'> & {
  config: Pick<Config, 'server' | 'graphql'>;
};

const DEFAULT_QUERY = `# Start a background simulation of 50 shopping sessions:
# mutation { simulate(sessions: 50, speed: 30) { id status progress } }
#
# Watch changes and recommendations live:
# subscription { customerChanged { operation after { firstName } } }
# subscription { recommendationsUpdated(customerId: 1) { computedAt recommendations { reason product { name } } } }
# query { recommendations(customerId: 1) { score reason product { name price } } }

query LatestOrders {
  orders(first: 5, order: DESC) {
    totalCount
    edges { node { orderId orderDate status totalPrice customer { firstName lastName } items { edges { node { quantity price product { name } } } } } }
  }
}
`;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Who may generate, simulate or clear: anyone on a loopback-only server, otherwise only the admin token. */
export function adminAccess(request: Request, server: Config['server']): GraphQLContext['admin'] {
  if (isLoopbackHost(server.host)) return { allowed: true };
  if (!server.adminToken)
    return {
      allowed: false,
      reason: 'This server is reachable from other machines and has no ADMIN_TOKEN set: set ADMIN_TOKEN to enable data-generating mutations.',
    };
  const header = request.headers.get('authorization') ?? '';
  const token = /^Bearer\s+(.+)$/i.exec(header)?.[1] ?? '';
  return sameSecret(token, server.adminToken)
    ? { allowed: true }
    : { allowed: false, reason: 'Send Authorization: Bearer <ADMIN_TOKEN> to run this mutation.' };
}

/** Builds the HTTP application (GraphQL + GraphiQL + REST); `main` only listens. */
export function createApp(deps: AppDeps): YogaServerInstance<Record<string, unknown>, GraphQLContext> {
  const { config } = deps;
  // Picked one by one: the composition root's lazy services (the Kafka bridge, the job manager) stay unmade.
  const services: Omit<GraphQLContext, 'admin'> = {
    db: deps.db,
    pool: deps.pool,
    storefront: deps.storefront,
    simulations: deps.simulations,
    logger: deps.logger,
    changes: deps.changes,
    recommendations: deps.recommendations,
  };
  const rest = createRestRouter({ db: deps.db, pool: deps.pool, version });
  const restPlugin: Plugin = {
    async onRequest({ request, endResponse }) {
      const response = await rest(request);
      if (response) endResponse(response);
    },
  };
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    // Yoga's own liveness probe would shadow /health, which also checks the database.
    healthCheckEndpoint: '/livez',
    landingPage: false,
    renderGraphiQL,
    graphiql: { title: 'rtrec GraphiQL', defaultQuery: DEFAULT_QUERY },
    logging: {
      debug: (...args) => deps.logger.debug(args.map(String).join(' ')),
      info: (...args) => deps.logger.info(args.map(String).join(' ')),
      warn: (...args) => deps.logger.warn(args.map(String).join(' ')),
      error: (...args) => {
        const err = args.find((a) => a instanceof Error);
        // Typed GraphQL errors are expected outcomes (bad input, not found): not worth an error log.
        const level = err instanceof GraphQLError && err.extensions?.code ? 'debug' : 'error';
        deps.logger[level](
          { err },
          args
            .filter((a) => !(a instanceof Error))
            .map(String)
            .join(' ') || 'graphql error',
        );
      },
    },
    maskedErrors: {
      maskError: (error, message) => maskError(error, message, (original) => deps.logger.error({ err: original }, 'unexpected error in GraphQL operation')),
    },
    plugins: [
      restPlugin,
      usePageSizeLimit(MAX_PAGE_SIZE),
      EnvelopArmorPlugin({
        maxDepth: { n: config.graphql.maxDepth, ignoreIntrospection: true },
        maxTokens: { n: config.graphql.maxTokens },
        maxAliases: { n: 15 },
        maxDirectives: { n: 20 },
        costLimit: { maxCost: 20_000, ignoreIntrospection: true },
        blockFieldSuggestion: { enabled: false },
      }),
    ],
    context: ({ request }) => ({ ...services, admin: adminAccess(request, config.server) }),
  });
}
