import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenServiceFor } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/env.js';

/* The token verifier by configuration: the generated HS256 secret file, or an external issuer's JWKS. */

describe('HS256 with the generated secret file', () => {
  it('generates a 0600 secret in a 0700 folder on first use, and verifies what it signs', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rtrec-auth-'));
    const tokens = tokenServiceFor(loadConfig({ RTREC_DATA_DIR: dataDir }));
    const jwt = await tokens.sign({ role: 'customer', customerId: 7 }, 60);
    const file = join(dataDir, 'auth', 'jwt-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'auth')).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, 'utf8').trim().length).toBeGreaterThanOrEqual(32);
    expect(await tokens.verify(jwt)).toMatchObject({ role: 'customer', customerId: 7 });
    // A second service on the same folder (the CLI, then the server) uses the same secret.
    expect(await tokenServiceFor(loadConfig({ RTREC_DATA_DIR: dataDir })).verify(jwt)).toMatchObject({ role: 'customer' });
  });

  it('refuses a secret file others can read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtrec-auth-'));
    const file = join(dir, 'secret');
    writeFileSync(file, 'x'.repeat(40), { mode: 0o644 });
    const tokens = tokenServiceFor(loadConfig({ AUTH_SECRET_FILE: file }));
    await expect(tokens.sign({ role: 'admin' }, 60)).rejects.toThrow(/readable by other users .*chmod 600/);
  });
});

describe('an external issuer (AUTH_JWKS_URL)', () => {
  let server: Server;
  let url: string;
  let privateKey: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const issued = (claims: Record<string, unknown>, alg = 'RS256', key: CryptoKey | Uint8Array = privateKey) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid: 'k1' }).setIssuer('https://issuer.example/').setAudience('rtrec').setExpirationTime('5m').sign(key);

  it("verifies the issuer's tokens, checking issuer and audience", async () => {
    const tokens = tokenServiceFor(loadConfig({ AUTH_JWKS_URL: url, AUTH_ISSUER: 'https://issuer.example/', AUTH_AUDIENCE: 'rtrec' }));
    expect(await tokens.verify(await issued({ role: 'analyst' }))).toMatchObject({ role: 'analyst' });
    const other = tokenServiceFor(loadConfig({ AUTH_JWKS_URL: url, AUTH_AUDIENCE: 'someone-else' }));
    await expect(other.verify(await issued({ role: 'analyst' }))).rejects.toThrow(/"aud" claim is not accepted/);
  });

  it('refuses HS256 tokens (a public key is no HMAC secret) and cannot mint', async () => {
    const tokens = tokenServiceFor(loadConfig({ AUTH_JWKS_URL: url }));
    await expect(tokens.verify(await issued({ role: 'admin' }, 'HS256', new TextEncoder().encode('x'.repeat(40))))).rejects.toThrow(/algorithm/);
    await expect(tokens.sign({ role: 'admin' }, 60)).rejects.toThrow(/external issuer \(AUTH_JWKS_URL\)/);
  });
});
