import { createHash, timingSafeEqual } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { RESOURCES } from '../api/resources.js';
import { AppError } from '../errors.js';
import { authorizeMetrics } from '../security/policy.js';
import type { TokenService } from '../security/tokens.js';
import type { Metrics } from './metrics.js';

/** The path Prometheus scrapes. */
export const METRICS_PATH = '/metrics';

const FIXED_ROUTES = new Set(['/', '/graphql', METRICS_PATH, '/health', '/livez', '/openapi.json', ...RESOURCES.map((r) => r.restPath)]);

/** A request path as a bounded label: the known routes, `/docs` and `/dashboard` for those pages and their assets, else `other`. */
export function routeOf(pathname: string): string {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (FIXED_ROUTES.has(path)) return path;
  if (path === '/docs' || path.startsWith('/docs/')) return '/docs';
  return path === '/dashboard' || path.startsWith('/dashboard/') ? '/dashboard' : 'other';
}

/**
 * Requests and GraphQL operations into the metrics: HTTP count and latency by route (first plugin, so requests
 * that a guard or REST answers count too), queries and mutations by operation name with their execution time,
 * subscriptions started, and SSE subscription streams while they are open (WebSocket ones are counted by the
 * socket layer, which knows when each client's subscription ends).
 */
export function useRequestMetrics(metrics: Metrics): Plugin {
  const started = new WeakMap<Request, { at: number; route: string }>();
  return {
    onRequest({ request, url }) {
      started.set(request, { at: performance.now(), route: routeOf(url.pathname) });
    },
    onResponse({ request, response }) {
      const request_ = started.get(request);
      if (request_ === undefined) return;
      metrics.http.observe(request.method, request_.route, response.status, (performance.now() - request_.at) / 1000);
    },
    onExecute({ args }) {
      const at = performance.now();
      return {
        onExecuteDone({ result }) {
          const failed = !(Symbol.asyncIterator in result) && (result.errors?.length ?? 0) > 0;
          metrics.graphql.operation(args.document, args.operationName, failed ? 'error' : 'ok', (performance.now() - at) / 1000);
        },
      };
    },
    onSubscribe({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const sse = request?.headers.get('accept')?.includes('text/event-stream') === true;
      return {
        onSubscribeResult({ result }) {
          const ok = Symbol.asyncIterator in result;
          metrics.graphql.operation(args.document, args.operationName, ok ? 'ok' : 'error');
          if (!ok || !sse) return;
          const end = metrics.graphql.sseStarted(args.document, args.operationName);
          return { onEnd: end };
        },
      };
    },
  };
}

export interface MetricsEndpointOptions {
  tokens: TokenService;
  /** A static scrape secret accepted on /metrics only (METRICS_TOKEN), besides admin and analyst tokens. */
  scrapeToken?: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

const refuse = (status: number, error: AppError) =>
  new Response(JSON.stringify({ error: { code: error.code, message: error.message } }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...(status === 401 && { 'www-authenticate': 'Bearer' }) },
  });

/**
 * GET /metrics in Prometheus' text format, for an admin or analyst bearer token or the METRICS_TOKEN secret:
 * 401 without a valid token, 403 for another role. Runs after the Host guard, like every other route.
 */
export function useMetricsEndpoint(metrics: Metrics, options: MetricsEndpointOptions): Plugin {
  const scrapeDigest = options.scrapeToken ? digest(options.scrapeToken) : undefined;
  const isScrapeToken = (authorization: string | null) => {
    const presented = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    return scrapeDigest !== undefined && presented !== undefined && timingSafeEqual(digest(presented), scrapeDigest);
  };
  return {
    async onRequest({ request, url, endResponse }) {
      if (url.pathname !== METRICS_PATH) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return endResponse(refuse(405, new AppError('BAD_USER_INPUT', 'Scrape /metrics with GET.')));
      }
      const authorization = request.headers.get('authorization');
      if (!isScrapeToken(authorization)) {
        try {
          authorizeMetrics(await options.tokens.authenticate(authorization));
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          return endResponse(refuse(error.code === 'FORBIDDEN' ? 403 : 401, error));
        }
      }
      endResponse(new Response(await metrics.scrape(), { headers: { 'content-type': metrics.contentType, 'cache-control': 'no-store' } }));
    },
  };
}
