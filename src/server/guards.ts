import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config/env.js';
import { allowedHosts, hostAllowed, originAllowed } from '../security/browser.js';

const refuse = (status: number, code: string, message: string) =>
  new Response(JSON.stringify({ error: { code, message } }), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The HTTP checks every request passes before REST or GraphQL sees it: a Host on the allow-list (DNS
 * rebinding), no state-changing request from a foreign browser Origin (cross-site form posts), and a body no
 * larger than MAX_BODY_BYTES by its Content-Length (the Node listener also stops longer bodies as they stream).
 */
export function useHttpGuards(server: Config['server']): Plugin {
  const hosts = allowedHosts(server);
  return {
    onRequest({ request, endResponse }) {
      const host = request.headers.get('host') ?? new URL(request.url).host;
      if (!hostAllowed(host, hosts)) {
        endResponse(
          refuse(
            421,
            'HOST_NOT_ALLOWED',
            `This server does not answer to the host "${host}": add it to ALLOWED_HOSTS (comma-separated names without port) if it is yours.`,
          ),
        );
        return;
      }
      if (!SAFE_METHODS.has(request.method) && !originAllowed(request.headers.get('origin'), host, server.corsOrigins)) {
        endResponse(
          refuse(403, 'ORIGIN_NOT_ALLOWED', `Requests from the origin ${request.headers.get('origin')} are refused: add it to CORS_ORIGINS if it is yours.`),
        );
        return;
      }
      const length = Number(request.headers.get('content-length') ?? 0);
      if (length > server.maxBodyBytes) {
        endResponse(refuse(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${server.maxBodyBytes} bytes (MAX_BODY_BYTES).`));
      }
    },
  };
}

/**
 * CORS for the origins in CORS_ORIGINS only (their requests may carry the Authorization header; no cookies are
 * used, so no credentials); every other cross-origin caller gets no CORS headers and the browser blocks it.
 */
export function corsFor(server: Config['server']) {
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || !server.corsOrigins.includes(origin)) return false as const;
    return {
      origin: [origin],
      credentials: false,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'accept', 'x-graphql-yoga-csrf'],
      maxAge: 600,
    };
  };
}
