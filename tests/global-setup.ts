import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { isAlive } from '../src/common/process.js';
import { migrate } from '../src/database/database.js';
import { EmbeddedPostgres } from '../src/database/embedded.js';
import { grantRolePrivileges } from '../src/database/privileges.js';
import type { DatabaseUrls } from '../src/database/roles.js';
import { projectRoot } from '../src/paths.js';
import { freePort } from './helpers/net.js';

export const TEMPLATE_DB = 'rtrec_template';

/**
 * One real PostgreSQL for the whole run, on a free port and a data folder of its own (never the
 * developer's, never another run's), with a template database migrated by the committed Prisma
 * migrations as the owner role, and the API, Debezium and Flink roles granted, as `rtrec` prepares a database.
 * Test files clone the template (as the superuser).
 */
export default async function setup(project: TestProject) {
  const root = join(projectRoot, '.data');
  // Folders of earlier runs that died without their teardown.
  for (const name of existsSync(root) ? readdirSync(root) : []) {
    const pid = /^test-run-(\d+)$/.exec(name)?.[1];
    if (!pid || isAlive(Number(pid))) continue;
    // Its PostgreSQL may have outlived it.
    await new EmbeddedPostgres({ dataDir: join(root, name), port: 0, database: TEMPLATE_DB }).stop().catch(() => undefined);
    rmSync(join(root, name), { recursive: true, force: true });
  }
  const dataDir = join(root, `test-run-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  const port = process.env.TEST_PG_PORT ? Number(process.env.TEST_PG_PORT) : await freePort();
  const server = new EmbeddedPostgres({ dataDir, port, database: TEMPLATE_DB });
  await server.start();
  const roles = server.urls(TEMPLATE_DB);
  await migrate(roles.owner);
  await grantRolePrivileges(roles);
  project.provide('pgAdminUrl', server.url('postgres'));
  project.provide('pgTemplate', TEMPLATE_DB);
  project.provide('pgRoleUrls', roles);
  project.provide('pgDataDir', dataDir);
  return async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
    /** Each least-privilege role's URL on the template database (roles are cluster-wide: swap the database). */
    pgRoleUrls: DatabaseUrls;
    /** The run's data folder (its password files). */
    pgDataDir: string;
  }
}
