import { defineConfig } from 'prisma/config';
import { MigrationAdapterFactory } from './src/database/migration-adapter.js';

// The Prisma CLI runs on the wasm schema engine through a driver adapter, so it needs no native binaries.
// `rtrec db init` passes DATABASE_URL for whichever server (embedded or external) is in use.
export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set: run Prisma through `npx rtrec db ...`, which sets it.');
    return new MigrationAdapterFactory(url);
  },
});
