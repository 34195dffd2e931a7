import { hostname, networkInterfaces } from 'node:os';

/*
 * What a browser may do to the server: which Host headers it answers (a DNS-rebinding page reaches a loopback
 * server under its own host name, so anything not on the list is refused) and which Origins may call it
 * cross-origin (HTTP with CORS, WebSocket upgrades, state-changing requests). Pure functions of the config.
 */

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/**
 * The host names (no port) the server answers: ALLOWED_HOSTS when set ('*' = any), else the loopback names plus
 * the bound address — every interface address and the machine's name when bound to all interfaces.
 */
export function allowedHosts(server: { host: string; allowedHosts: string[] | undefined }): ReadonlySet<string> | '*' {
  if (server.allowedHosts) return server.allowedHosts.includes('*') ? '*' : new Set(server.allowedHosts.map(bare));
  const names = new Set([...LOOPBACK_NAMES, bare(server.host.toLowerCase())]);
  if (WILDCARD_BINDS.has(server.host)) {
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) names.add(a.address.toLowerCase());
  }
  return names;
}

/** A host name without IPv6 brackets. */
const bare = (name: string) => name.replace(/^\[(.*)\]$/, '$1');

/** The host name of a Host header (`name`, `name:port`, `[v6]:port`), lowercase, or undefined when malformed. */
export function hostOf(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(header.trim());
  return m ? bare(m[1]!.toLowerCase()) : undefined;
}

export function hostAllowed(header: string | null | undefined, allowed: ReadonlySet<string> | '*'): boolean {
  const host = hostOf(header);
  return host !== undefined && (allowed === '*' || allowed.has(host));
}

/**
 * Whether a request's Origin may call the server: no Origin (not a browser, or same-origin GET), the server's
 * own origin (same host and port as the Host header), or one of CORS_ORIGINS.
 */
export function originAllowed(origin: string | null | undefined, hostHeader: string | null | undefined, corsOrigins: readonly string[]): boolean {
  if (origin === null || origin === undefined) return true;
  if (corsOrigins.includes(origin)) return true;
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && hostHeader !== null && hostHeader !== undefined && url.host === hostHeader.toLowerCase();
  } catch {
    return false;
  }
}
