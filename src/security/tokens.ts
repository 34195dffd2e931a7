import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import { ANONYMOUS, isRole, type Principal, type Role } from './principal.js';
import { ensureSecretFile } from './secret.js';

/** The claim names of an rtrec token besides the registered ones (sub, iat, exp, iss, aud). */
export const ROLE_CLAIM = 'role';
export const CUSTOMER_CLAIM = 'customer_id';

/** Verifies bearer tokens (and, with an HS256 secret, mints them). Built once by the composition root. */
export interface TokenService {
  /** The caller of a request from its Authorization header value: anonymous when absent, UNAUTHENTICATED when invalid. */
  authenticate(authorization: string | null | undefined): Promise<Principal>;
  /** Verifies one compact JWT. */
  verify(token: string): Promise<Principal>;
  /** Signs a token for `principal` valid for `ttlSeconds` (HS256 only: an external issuer signs its own). */
  sign(principal: { role: Exclude<Role, 'anonymous'>; customerId?: number; subject?: string }, ttlSeconds: number): Promise<string>;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i;
const CACHE_LIMIT = 10_000;

const unauthenticated = (why: string) => new AppError('UNAUTHENTICATED', why);

/** The principal a verified payload claims, or why it is not a valid rtrec token. */
export function principalOf(payload: JWTPayload): Principal {
  const role = payload[ROLE_CLAIM];
  if (!isRole(role) || role === 'anonymous')
    throw unauthenticated(`The token's "${ROLE_CLAIM}" claim must be admin, service, analyst or customer: mint one with npx rtrec token --role <role>.`);
  const customer = payload[CUSTOMER_CLAIM];
  if (role === 'customer') {
    if (typeof customer !== 'number' || !Number.isInteger(customer) || customer < 1 || customer > 2_147_483_647)
      throw unauthenticated(`A customer token needs a positive integer "${CUSTOMER_CLAIM}" claim: npx rtrec token --role customer --customer <id>.`);
    return { role, customerId: customer, subject: payload.sub };
  }
  if (customer !== undefined) throw unauthenticated(`Only customer tokens carry "${CUSTOMER_CLAIM}"; a ${role} token must not.`);
  return { role, subject: payload.sub };
}

function explain(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof joseErrors.JWTExpired) return unauthenticated('The token has expired: mint a new one (npx rtrec token --role <role>).');
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return unauthenticated(`The token's "${error.claim}" claim is not accepted (${error.reason}): use a token issued for this server.`);
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return unauthenticated('The token signature does not verify: it was signed with another secret. Mint one for this server (npx rtrec token).');
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return unauthenticated('The token is signed with an algorithm this server does not accept.');
  if (error instanceof joseErrors.JWKSNoMatchingKey) return unauthenticated('No key of the configured JWKS matches the token (kid).');
  if (error instanceof joseErrors.JOSEError) return unauthenticated(`The bearer token is not a valid JWT (${error.code}).`);
  return unauthenticated('The bearer token could not be verified.');
}

/**
 * Tokens by configuration: an external issuer's JWKS (AUTH_JWKS_URL; asymmetric algorithms only), or an HS256
 * secret (AUTH_SECRET, or the 0600 secret file generated under the data folder). Every token needs `exp`.
 * Verified tokens are remembered until they expire, so a client's repeated requests cost one map lookup.
 */
export function createTokenService(auth: Config['auth']): TokenService {
  let secret: Uint8Array | undefined;
  const hmacKey = () => {
    secret ??= new TextEncoder().encode(auth.secret ?? ensureSecretFile(auth.secretFile));
    return secret;
  };
  const jwks: JWTVerifyGetKey | undefined = auth.jwksUrl ? createRemoteJWKSet(new URL(auth.jwksUrl)) : undefined;
  const options = {
    issuer: auth.issuer,
    audience: auth.audience,
    requiredClaims: ['exp'],
    algorithms: jwks ? ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] : ['HS256'],
  };
  const cache = new Map<string, { principal: Principal; expiresAt: number }>();

  async function verify(token: string): Promise<Principal> {
    const hit = cache.get(token);
    if (hit && hit.expiresAt > Date.now()) return hit.principal;
    if (hit) cache.delete(token);
    try {
      const { payload } = jwks ? await jwtVerify(token, jwks, options) : await jwtVerify(token, hmacKey(), options);
      const expiresAt = (payload.exp as number) * 1000;
      const principal = Object.freeze({ ...principalOf(payload), expiresAt });
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(token, { principal, expiresAt });
      return principal;
    } catch (error) {
      throw explain(error);
    }
  }

  return {
    verify,
    async authenticate(authorization) {
      if (authorization === null || authorization === undefined || authorization.trim() === '') return ANONYMOUS;
      const token = BEARER.exec(authorization)?.[1];
      if (!token) throw unauthenticated('The Authorization header must be "Bearer <token>" (get one with npx rtrec token --role <role>).');
      return verify(token);
    },
    async sign(principal, ttlSeconds) {
      if (jwks) throw new AppError('BAD_USER_INPUT', 'This server verifies tokens of an external issuer (AUTH_JWKS_URL): get a token from that issuer.');
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new AppError('BAD_USER_INPUT', 'The token lifetime must be at least one second.');
      const claims: JWTPayload = { [ROLE_CLAIM]: principal.role, ...(principal.customerId !== undefined && { [CUSTOMER_CLAIM]: principal.customerId }) };
      principalOf(claims);
      let jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .setSubject(principal.subject ?? (principal.customerId !== undefined ? `customer:${principal.customerId}` : principal.role));
      if (auth.issuer) jwt = jwt.setIssuer(auth.issuer);
      if (auth.audience) jwt = jwt.setAudience(auth.audience);
      return jwt.sign(hmacKey());
    },
  };
}
