import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { MAX_PAGE_SIZE } from '../api/resources.js';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import type { GraphQLContext } from '../graphql/context.js';
import { maskError, toGraphQLError } from '../graphql/errors.js';
import { schema } from '../graphql/schema/index.js';
import type { Metrics } from '../metrics/metrics.js';
import { useMetricsEndpoint, useRequestMetrics } from '../metrics/plugin.js';
import { createRestRouter } from '../rest/router.js';
import type { RequestAuth } from '../security/policy.js';
import type { TokenService } from '../security/tokens.js';
import { version } from '../version.js';
import { useDashboard } from './dashboard.js';
import { corsFor, useHttpGuards } from './guards.js';
import { usePageSizeLimit } from './page-size.js';

/** The services every request's context carries (from the composition root, src/app/context.ts), plus the server and GraphQL limits. */
export type AppDeps = Omit<GraphQLContext, 'auth'> & {
  config: Pick<Config, 'server' | 'graphql' | 'metrics'>;
  tokens: TokenService;
  /** Requests and operations are counted into it, and it is served at /metrics. */
  metrics: Metrics;
};

/** The header a non-browser client may send instead of a JSON body (yoga's CSRF prevention). */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/** The caller of a request; an invalid token fails the request with 401 (never a silent fall-back to anonymous). */
async function authenticate(tokens: TokenService, request: Request): Promise<RequestAuth> {
  try {
    return { principal: await tokens.authenticate(request.headers.get('authorization')) };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const typed = toGraphQLError(error);
    throw new GraphQLError(typed.message, {
      extensions: { ...typed.extensions, http: { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } } },
    });
  }
}

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

/**
 * Yoga's offline GraphiQL with the header editor pre-filled from the page's fragment: the demo prints
 * `/graphql#token=<jwt>`, and the fragment never reaches the server (or its logs). The token is then
 * removed from the address bar.
 */
export function renderGraphiQLWithToken(options: Parameters<typeof renderGraphiQL>[0]): string {
  const marker = '"__RTREC_HEADERS__"';
  const html = renderGraphiQL({ ...options, headers: '__RTREC_HEADERS__' });
  const fromFragment = `(function () {
    var m = /(?:^#|&)token=([A-Za-z0-9._-]+)/.exec(window.location.hash);
    if (!m) return undefined;
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    return JSON.stringify({ authorization: 'Bearer ' + m[1] }, null, 2);
  })()`;
  return html.replace(marker, fromFragment);
}

/** Builds the HTTP application (GraphQL + GraphiQL + REST + /metrics + /dashboard); `main` only listens. */
export function createApp(deps: AppDeps): YogaServerInstance<Record<string, unknown>, GraphQLContext> {
  const { config } = deps;
  // Picked one by one: the composition root's lazy services (the Kafka bridge, the job manager) stay unmade.
  const services: Omit<GraphQLContext, 'auth'> = {
    db: deps.db,
    pool: deps.pool,
    reader: deps.reader,
    storefront: deps.storefront,
    simulations: deps.simulations,
    resetShopData: (scope) => deps.resetShopData(scope),
    logger: deps.logger,
    changes: deps.changes,
    history: deps.history,
    recommendations: deps.recommendations,
    experiments: deps.experiments,
    merchandising: deps.merchandising,
  };
  const rest = createRestRouter({ db: deps.db, pool: deps.pool, reader: deps.reader, version, tokens: deps.tokens });
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
    // The listener bounds every body already (src/server/http.ts, guards.ts): a Content-Length is required (411
    // otherwise) and at most MAX_BODY_BYTES (413), and Node reads exactly that many bytes. Yoga's own limit piped
    // every request body through a stream pipeline whose AbortController threw (and captured the stack of) a
    // DOMException per request, a few % of a request's CPU for a check that cannot fail behind the listener.
    maxRequestBodySize: false,
    landingPage: false,
    renderGraphiQL: renderGraphiQLWithToken,
    cors: corsFor(config.server),
    graphiql: { title: 'rtrec GraphiQL', defaultQuery: DEFAULT_QUERY },
    logging: {
      debug: (...args) => deps.logger.debug(args.map(String).join(' ')),
      info: (...args) => deps.logger.info(args.map(String).join(' ')),
      warn: (...args) => deps.logger.warn(args.map(String).join(' ')),
      error: (...args) => {
        const err = args.find((a) => a instanceof Error);
        // Typed GraphQL errors are expected outcomes (bad input, not found): not worth an error log.
        // (A subscription's setup error reaches this log before masking: a GraphQLError around the AppError.)
        const level = err instanceof GraphQLError && (err.extensions?.code || err.originalError instanceof AppError) ? 'debug' : 'error';
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
      // First, so that requests a guard refuses are counted too.
      useRequestMetrics(deps.metrics),
      useHttpGuards(config.server),
      useMetricsEndpoint(deps.metrics, { tokens: deps.tokens, scrapeToken: config.metrics.token }),
      useDashboard(),
      restPlugin,
      // A form or text/plain POST (no CORS preflight) needs this header, which a foreign page cannot add.
      useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
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
    context: async ({ request }) => ({ ...services, auth: await authenticate(deps.tokens, request) }),
  });
}
