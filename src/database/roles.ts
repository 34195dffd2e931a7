import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/*
 * Least privilege in PostgreSQL: each component connects as a role of its own.
 *   owner  owns the schema: runs the migrations (DDL), creates the CDC publication, grants the others.
 *   api    the API, the demo and the CLI commands that change data: DML on the application tables, no DDL.
 *   cdc    Debezium: REPLICATION, and SELECT on the published tables only.
 *   flink  the Flink jobs' JDBC sinks: write their result and feature tables only (and read products, the
 *          top-products lookup).
 * The embedded server creates them with generated passwords; an external server brings its own (README).
 */

export type DbRole = 'owner' | 'api' | 'cdc' | 'flink';
export const DB_ROLES: readonly DbRole[] = ['owner', 'api', 'cdc', 'flink'];

/** The role names the embedded server creates. */
export const EMBEDDED_ROLE_NAMES: Readonly<Record<DbRole, string>> = { owner: 'rtrec_owner', api: 'rtrec_api', cdc: 'rtrec_cdc', flink: 'rtrec_flink' };

/** One connection string per component. With a single external DATABASE_URL they are all the same. */
export type DatabaseUrls = Readonly<Record<DbRole, string>>;

/**
 * A SCRAM-SHA-256 verifier (RFC 5802 / 7677, the format PostgreSQL stores in pg_authid), so that
 * CREATE/ALTER ROLE ... PASSWORD carries no password: not in the statement, not in a server log line if it fails.
 */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** The URL with another user and password (same host, port and database). */
export function urlAs(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** The URL with another database. */
export function urlOn(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}
