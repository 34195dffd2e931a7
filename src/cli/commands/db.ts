import pg from 'pg';
import { type Config, loadConfig } from '../../config/env.js';
import { checkConnection, ensureDatabaseUrls, locateDatabase, migrate, prepareDatabase, runPrismaCli } from '../../database/database.js';
import { grantRolePrivileges } from '../../database/privileges.js';
import { DB_ROLES, type DbRole } from '../../database/roles.js';
import { AppError } from '../../errors.js';
import { createLogger } from '../../logging/logger.js';
import { print } from '../output.js';

const loggerOf = (config: Config) => createLogger(config.logLevel, { component: 'db' });

export async function dbInit(): Promise<void> {
  const config = loadConfig();
  const logger = loggerOf(config);
  const urls = await ensureDatabaseUrls(config, logger);
  const output = await migrate(urls.owner);
  await grantRolePrivileges(urls, logger);
  print(/No pending migrations/.test(output) ? 'Database is up to date (no pending migrations).' : 'Database created and migrated.');
}

export async function dbReset(options: { yes?: boolean }): Promise<void> {
  if (!options.yes) throw new AppError('BAD_USER_INPUT', 'This drops every table and all data. Re-run with --yes to confirm: rtrec db reset --yes');
  const config = loadConfig();
  const logger = loggerOf(config);
  const urls = await ensureDatabaseUrls(config, logger);
  // Dropping every table under a running change capture would leave its topics and the Flink jobs' state
  // describing rows that are gone (and the publication without its tables): refused, with the consistent way.
  const slot = config.cdc.slotName;
  const client = new pg.Client({ connectionString: urls.owner });
  await client.connect();
  const captured = await client
    .query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()', [slot])
    .finally(() => client.end());
  if (captured.rowCount) {
    throw new AppError(
      'RESET_REFUSED',
      `The database is captured (replication slot ${slot}): dropping its tables would leave the change topics and the Flink jobs' state describing rows that no longer exist; nothing was dropped. To empty every table with its derived state (the schema stays), run \`npx rtrec generate --clear\` with the stack up. To start from nothing, delete the connector and its slot (\`npx rtrec cdc delete shop-cdc --drop-slot\`), stop the stack, remove RTREC_DATA_DIR/stack, and run this again.`,
    );
  }
  const { code, output } = await runPrismaCli(['migrate', 'reset', '--force', '--skip-generate', '--skip-seed'], urls.owner);
  if (code !== 0) throw new AppError('MIGRATION_FAILED', `Reset failed:\n${output.trim()}`);
  await grantRolePrivileges(urls, logger);
  // The jobs' retained state was built from the dropped data: the next deploy starts from nothing.
  const { jobManagerFor } = await import('../../app/context.js');
  jobManagerFor(config, urls.flink, logger).forgetRuns();
  print('Database reset: all tables dropped and migrations re-applied; the Flink jobs will start from a fresh state.');
}

export async function dbStart(): Promise<void> {
  const config = loadConfig();
  const location = locateDatabase(config, loggerOf(config));
  if (!location.embedded) {
    await checkConnection(config.databaseUrl!);
    return print('DATABASE_URL points at an external server; nothing to start (it answers).');
  }
  await location.embedded.start();
  const status = await location.embedded.status();
  print(`Embedded PostgreSQL running (pid ${status.pid}) on 127.0.0.1:${status.port}, data in ${status.dataDir}`);
}

export async function dbStop(): Promise<void> {
  const location = locateDatabase(loadConfig());
  if (!location.embedded) return print('DATABASE_URL points at an external server; not stopping it.');
  print((await location.embedded.stop()) ? 'Embedded PostgreSQL stopped.' : 'Embedded PostgreSQL was not running.');
}

export async function dbStatus(options: { json?: boolean }): Promise<void> {
  const config = loadConfig();
  const location = locateDatabase(config);
  if (!location.embedded) {
    let reachable = true;
    try {
      await checkConnection(config.databaseUrl!);
    } catch {
      reachable = false;
    }
    if (options.json) return print(JSON.stringify({ mode: 'external', reachable }));
    print(`external server (DATABASE_URL): ${reachable ? 'reachable' : 'NOT reachable'}`);
    if (!reachable) process.exitCode = 1;
    return;
  }
  const status = await location.embedded.status();
  if (options.json) return print(JSON.stringify({ mode: 'embedded', ...status }));
  print(`embedded PostgreSQL: ${status.running ? `running (pid ${status.pid})` : status.initialized ? 'stopped' : 'not initialised'}`);
  print(`  port: ${status.port}\n  data: ${status.dataDir}\n  log:  ${status.logFile}`);
  if (!status.running) print('  start it with: npx rtrec db start');
}

/**
 * `rtrec db url [--role api|owner|cdc|flink|superuser]`: a component's connection string (the API's by default;
 * `superuser` only for the embedded server). The roles' privileges are granted first, so the URL works at once.
 */
export async function dbUrl(options: { role?: string }): Promise<void> {
  const config = loadConfig();
  const role = options.role ?? 'api';
  const location = locateDatabase(config, loggerOf(config));
  if (role === 'superuser') {
    if (!location.embedded)
      throw new AppError('BAD_USER_INPUT', 'DATABASE_URL points at an external server: there is no embedded superuser. Use --role owner.');
    await location.embedded.start();
    return print(location.embedded.url());
  }
  if (!(DB_ROLES as readonly string[]).includes(role))
    throw new AppError('BAD_USER_INPUT', `--role must be one of ${[...DB_ROLES, 'superuser'].join(', ')} (got ${role}).`);
  const urls = await prepareDatabase(config, loggerOf(config), { migrate: false });
  print(urls[role as DbRole]);
}
