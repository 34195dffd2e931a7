import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (where package.json and prisma/ live), independent of the working directory. */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
