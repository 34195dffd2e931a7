import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { EmbeddedPostgres } from '../src/database/embedded.js';
import { migrate } from '../src/database/database.js';
import { projectRoot } from '../src/paths.js';

export const TEMPLATE_DB = 'rtrec_template';

/**
 * One real PostgreSQL for the whole run, on its own port and data folder (never the developer's), with
 * a template database migrated by the committed Prisma migrations. Test files clone the template.
 */
export default async function setup(project: TestProject) {
  const dataDir = join(projectRoot, '.data', 'test-run');
  rmSync(dataDir, { recursive: true, force: true });
  const port = Number(process.env.TEST_PG_PORT ?? 55433);
  const server = new EmbeddedPostgres({ dataDir, port, database: TEMPLATE_DB });
  await server.start();
  await migrate(server.url(TEMPLATE_DB));
  project.provide('pgAdminUrl', server.url('postgres'));
  project.provide('pgTemplate', TEMPLATE_DB);
  return async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}
