import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Test tools come from Debian's packages (never a downloaded binary). As root with apt-get, as on CI,
 * a missing one is installed; elsewhere the caller learns it is unavailable and how to fix that.
 */
export function ensureDebianTool(binary: string, pkg: string): { ok: true } | { ok: false; reason: string } {
  if (existsSync(binary)) return { ok: true };
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    return { ok: false, reason: `${binary} is not installed: run \`sudo apt-get install -y ${pkg}\` to include these tests.` };
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 240_000, env });
  execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'ignore', timeout: 240_000, env });
  return existsSync(binary) ? { ok: true } : { ok: false, reason: `apt-get did not install ${binary}` };
}

/** The pid listening on a TCP port on this machine, if any (from `ss`). */
export function pidListeningOn(port: number): number | undefined {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const match = /pid=(\d+)/.exec(out);
  return match ? Number(match[1]) : undefined;
}
