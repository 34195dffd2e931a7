import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Browser tests use Debian's Chromium (never a downloaded browser build). As root with apt-get, as on CI,
 * it is installed when missing; elsewhere the caller learns it is unavailable and why.
 */
export function ensureChromium(): { ok: true } | { ok: false; reason: string } {
  if (existsSync(CHROMIUM)) return { ok: true };
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    return { ok: false, reason: 'Chromium is not installed: run `sudo apt-get install -y chromium` to include the browser tests.' };
  }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 240_000 });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', timeout: 240_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return existsSync(CHROMIUM) ? { ok: true } : { ok: false, reason: 'apt-get did not install /usr/bin/chromium' };
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
