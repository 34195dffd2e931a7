import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const root = import.meta.dirname;
const projectRoot = join(root, '..');

/**
 * Records every project file the build read (dist/.inputs.json), so that scripts/ensure-dashboard.mjs can tell
 * a stale build from a fresh one by exactly those files, wherever they live (the dashboard imports a few
 * constants from src/).
 */
function recordInputs(): Plugin {
  return {
    name: 'rtrec-record-inputs',
    apply: 'build',
    writeBundle(options) {
      const files = [...this.getModuleIds()]
        .filter((id) => !id.includes('\0') && !id.includes('/node_modules/') && id.startsWith(projectRoot))
        .map((id) => relative(projectRoot, id.replace(/\?.*$/, '')))
        .sort();
      writeFileSync(join(options.dir!, '.inputs.json'), `${JSON.stringify(files, null, 2)}\n`);
    },
  };
}

/** The dashboard served by the API at /dashboard: one page, its script and CSS as hashed files (no inline code, for the CSP). */
export default defineConfig({
  root,
  base: '/dashboard/',
  logLevel: 'warn',
  plugins: [recordInputs()],
  build: {
    outDir: join(root, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    // A separate file even when small: the page's CSP allows no inline style or script.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: true,
    reportCompressedSize: false,
  },
});
