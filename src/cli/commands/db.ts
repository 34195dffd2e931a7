import { loadConfig } from '../../config/env.js';
import { checkConnection, ensureDatabaseUrl, locateDatabase, migrate, runPrismaCli } from '../../database/database.js';
import { AppError } from '../../errors.js';
import { print } from '../output.js';

export async function dbInit(): Promise<void> {
  const url = await ensureDatabaseUrl(loadConfig());
  const output = await migrate(url);
  print(/No pending migrations/.test(output) ? 'Database is up to date (no pending migrations).' : 'Database created and migrated.');
}

export async function dbReset(options: { yes?: boolean }): Promise<void> {
  if (!options.yes) throw new AppError('BAD_USER_INPUT', 'This drops every table and all data. Re-run with --yes to confirm: rtrec db reset --yes');
  const url = await ensureDatabaseUrl(loadConfig());
  const { code, output } = await runPrismaCli(['migrate', 'reset', '--force', '--skip-generate', '--skip-seed'], url);
  if (code !== 0) throw new AppError('MIGRATION_FAILED', `Reset failed:\n${output.trim()}`);
  print('Database reset: all tables dropped and migrations re-applied.');
}

export async function dbStart(): Promise<void> {
  const config = loadConfig();
  const location = locateDatabase(config);
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

export async function dbUrl(): Promise<void> {
  print(await ensureDatabaseUrl(loadConfig()));
}
