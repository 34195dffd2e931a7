import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { Plugin } from 'graphql-yoga';
import { projectRoot } from '../paths.js';

/** Where the dashboard is served. */
export const DASHBOARD_PATH = '/dashboard';

/** The Vite build of dashboard/ (`npm run dashboard:build`; `npm start` and `npm test` build it when missing or stale). */
export const DASHBOARD_DIST = join(projectRoot, 'dashboard', 'dist');

/**
 * What the dashboard's pages may do in a browser: scripts, styles and connections (HTTP and the graphql-ws
 * WebSocket) to this origin only, no inline script or style element, no framing, no form posts, no base URL.
 * The page sets element styles from script (uPlot), which a CSP does not govern.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS, ...headers } });

/**
 * Serves the built dashboard at /dashboard (its index.html) and /dashboard/assets/* (Vite's hashed files,
 * cached for good), with the security headers above on every answer. Only files of the build folder with a
 * known type are served; a missing build answers 503 with the command that makes it.
 */
export function useDashboard(options: { dist?: string } = {}): Plugin {
  const dist = normalize(options.dist ?? DASHBOARD_DIST);
  return {
    async onRequest({ url, request, endResponse }) {
      const path = url.pathname;
      if (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`)) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(text(405, 'The dashboard is read-only: use GET (its data comes from /graphql).', { allow: 'GET, HEAD' }));
        return;
      }
      const relative = path === DASHBOARD_PATH || path === `${DASHBOARD_PATH}/` ? 'index.html' : decodeURIComponentOr(path.slice(DASHBOARD_PATH.length + 1));
      const file = relative === undefined ? undefined : normalize(join(dist, relative));
      // Inside the build folder, of a served type, and no dot-file (the build's stamps).
      const type = file?.startsWith(dist + sep) && !relative!.split('/').some((part) => part.startsWith('.')) ? TYPES[extname(file)] : undefined;
      if (!type) {
        endResponse(text(404, `No such dashboard file: ${path}. The dashboard is at ${DASHBOARD_PATH}.`));
        return;
      }
      let body: Buffer;
      try {
        body = await readFile(file!);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        endResponse(
          relative === 'index.html'
            ? text(503, 'The dashboard is not built: run `npm run dashboard:build` (npm start and npm test build it when it is missing or stale).')
            : text(404, `No such dashboard file: ${path}. The dashboard is at ${DASHBOARD_PATH}.`),
        );
        return;
      }
      const hashed = relative!.startsWith('assets/');
      endResponse(
        new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
          status: 200,
          headers: {
            'content-type': type,
            'content-length': String(body.length),
            // The page names the current build's hashed files: never cache it; the files themselves never change.
            'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
            ...SECURITY_HEADERS,
          },
        }),
      );
    },
  };
}

function decodeURIComponentOr(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
