/*
 * The bearer token: taken from the URL fragment (`/dashboard#token=<jwt>`, which never reaches the server or its
 * logs) and removed from the address bar at once, as GraphiQL's page does; kept in sessionStorage only (gone
 * when the tab closes) and sent only in the Authorization header and the WebSocket's connection_init, never
 * in a URL.
 */

const KEY = 'rtrec.dashboard.token';
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface TokenInfo {
  token: string;
  role: string;
  customerId?: number;
  /** ms since the epoch, from `exp`. */
  expiresAt?: number;
}

/** The claims of a JWT, for display only (the server verifies every request). Throws a message that says what to do. */
export function describeToken(token: string): TokenInfo {
  if (!JWT.test(token)) throw new Error('That is not a JWT (three base64url parts separated by dots): copy the whole token that `npx rtrec token` prints.');
  let claims: { role?: unknown; customer_id?: unknown; exp?: unknown };
  try {
    const part = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    claims = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, '=')));
  } catch {
    throw new Error('The token’s claims are not readable JSON: make a new one with `npx rtrec token --role admin`.');
  }
  const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  if (expiresAt !== undefined && expiresAt <= Date.now())
    throw new Error('The token has expired: restart `npm start` or run `npx rtrec token --role admin` for a new one.');
  return {
    token,
    role: typeof claims.role === 'string' ? claims.role : 'unknown',
    customerId: typeof claims.customer_id === 'number' ? claims.customer_id : undefined,
    expiresAt,
  };
}

/** Moves a token from the fragment into sessionStorage (and out of the address bar); returns the stored one. */
export function takeToken(): string | undefined {
  const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]!));
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
