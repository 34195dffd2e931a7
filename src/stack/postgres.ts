import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { assertPortsFree, findProcesses, isAlive, portOpen } from '../common/process.js';
import type { Config } from '../config/env.js';
import { migrate } from '../database/database.js';
import { EmbeddedPostgres } from '../database/embedded.js';
import { grantRolePrivileges } from '../database/privileges.js';
import type { Logger } from '../logging/logger.js';
import type { Engine, EngineStatus } from './engine.js';

/** The shop database: the embedded PostgreSQL (pg_ctl daemon) unless DATABASE_URL points elsewhere. */
export function createPostgresEngine(config: Config, logger: Logger): Engine {
  const external = config.databaseUrl !== undefined;
  const embedded = new EmbeddedPostgres({ dataDir: config.dataDir, ...config.embeddedPg, logger });
  const url = external ? config.databaseUrl! : undefined;
  /** Present while the running server is one that `stack up` started (so `stack down` may stop it). */
  const ownedMarker = join(config.dataDir, 'stack', 'postgres.started-by-stack');

  const health = async (connectionString: string): Promise<{ healthy: boolean; detail: string; version?: string }> => {
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ version: string; wal_level: string }>(
        "SELECT current_setting('server_version') AS version, current_setting('wal_level') AS wal_level",
      );
      const row = rows[0]!;
      return { healthy: true, detail: `wal_level=${row.wal_level}`, version: row.version };
    } catch (error) {
      return { healthy: false, detail: (error as Error).message };
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  return {
    name: 'postgres',
    external,
    artifacts: [],
    dependsOn: [],
    jvm: false,
    logFile: external ? undefined : embedded.logFile,

    async preflight() {
      if (external || (await embedded.status()).running) return;
      await assertPortsFree([{ port: config.embeddedPg.port, variable: 'EMBEDDED_PG_PORT', what: 'embedded PostgreSQL' }]);
    },

    async start() {
      if (external) return 'external';
      const before = await embedded.status();
      await embedded.start();
      // A stack is ready for `cdc register` and the jobs: Debezium's publication needs the shop's tables, and
      // each engine's role its grants (the owner migrates, as everywhere).
      const urls = embedded.urls();
      await migrate(urls.owner);
      await grantRolePrivileges(urls, logger);
      if (before.running) return 'already running';
      mkdirSync(dirname(ownedMarker), { recursive: true });
      writeFileSync(ownedMarker, `${new Date().toISOString()}\n`);
      logger.info({ engine: 'postgres', port: config.embeddedPg.port }, 'embedded PostgreSQL started');
      return 'started';
    },

    async stop() {
      if (external) return { engine: 'postgres', stopped: [], forced: false };
      const state = await embedded.status();
      if (state.running && !existsSync(ownedMarker)) {
        // The same server serves `rtrec db start` and the API; stopping one the stack did not start would
        // pull the database from under whoever did.
        return { engine: 'postgres', stopped: [], forced: false, leftRunning: 'started outside the stack (rtrec db start); stop it with `npx rtrec db stop`' };
      }
      await embedded.stop();
      rmSync(ownedMarker, { force: true });
      // pg_ctl -w returns once the postmaster is gone; check it, as the same promise holds for the JVMs.
      const left = findProcesses(`-D ${embedded.pgData} `).filter(isAlive);
      if (left.length > 0) logger.warn({ engine: 'postgres', pids: left }, 'postgres processes still running after pg_ctl stop');
      return { engine: 'postgres', stopped: state.running && state.pid !== undefined ? [state.pid] : [], forced: false };
    },

    async status(): Promise<EngineStatus> {
      if (external) {
        const checked = await health(url!);
        const parsed = new URL(url!);
        return {
          engine: 'postgres',
          mode: 'external',
          running: false,
          healthy: checked.healthy,
          ports: {},
          endpoint: `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
          address: `postgresql://${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
          version: checked.version,
          detail: checked.detail,
        };
      }
      const state = await embedded.status();
      const checked =
        state.running && (await portOpen(state.port))
          ? await health(embedded.url())
          : { healthy: false, detail: state.initialized ? 'stopped' : 'not initialised', version: undefined };
      return {
        engine: 'postgres',
        mode: 'managed',
        running: state.running,
        healthy: checked.healthy,
        pid: state.pid,
        ports: { postgres: state.port },
        endpoint: `127.0.0.1:${state.port}/${config.embeddedPg.database}`,
        address: `postgresql://127.0.0.1:${state.port}/${config.embeddedPg.database} (psql "$(npx rtrec db url)")`,
        version: checked.version,
        logFile: embedded.logFile,
        detail: checked.detail,
      };
    },
  };
}
