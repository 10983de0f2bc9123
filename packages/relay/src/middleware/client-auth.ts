import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { authUnavailable, unauthenticated } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';

export const API_KEY_HEADER = 'X-API-Key';
/** Not `Authorization`: the step and session routes already use it for the session token. */
export const CLIENT_TOKEN_HEADER = 'X-Client-Token';

export interface ClientAuthOptions {
  apiKeys: readonly string[];
  /** Accept JWTs signed by a key of the JWK set at `jwksUrl`, for this issuer and audience. */
  jwt?: { jwksUrl: string; issuer: string; audience: string /** Oldest token accepted by `iat`, seconds. Default 3600. */; maxAgeSeconds?: number };
}

/** Key sets publish public keys: only asymmetric algorithms, so an `oct` key in a set can never verify a token. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** jose codes that mean "this token is bad", as opposed to "the key set cannot be fetched". */
const TOKEN_FAULT = /^ERR_(JWT_|JWS_|JWKS_NO_MATCHING_KEY|JWKS_MULTIPLE_MATCHING_KEYS|JOSE_ALG_NOT_ALLOWED|JOSE_NOT_SUPPORTED)/;

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Optional authentication of the client application: `X-API-Key` (one of
 * the configured keys) or `X-Client-Token` (a JWT from the configured
 * issuer, for the configured audience). Admits requests as they are when
 * neither is configured. Sets `c.var.principal` for rate limits; a missing or
 * wrong credential is 401 `unauthenticated`, a key set that cannot be fetched
 * 503 `auth_unavailable`.
 */
export function clientAuth(options: ClientAuthOptions): MiddlewareHandler<RelayEnv> {
  // Compare SHA-256 digests: equal lengths always, so timingSafeEqual applies and timing says nothing about a key.
  const keys = options.apiKeys.map(digest);
  const jwt = options.jwt;
  const jwks = jwt ? createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: 3_000, cooldownDuration: 30_000 }) : undefined;
  if (!keys.length && !jwks) return async (_c, next) => next();

  return async (c, next) => {
    const apiKey = c.req.header(API_KEY_HEADER);
    const token = c.req.header(CLIENT_TOKEN_HEADER);
    if (apiKey !== undefined && keys.length) {
      const presented = digest(apiKey);
      // Every configured key is compared, matched or not.
      const match = keys.reduce<Buffer | undefined>((found, key) => (timingSafeEqual(key, presented) ? key : found), undefined);
      if (!match) throw unauthenticated(`unknown ${API_KEY_HEADER}`);
      c.set('principal', `key:${match.toString('hex').slice(0, 16)}`);
    } else if (token !== undefined && jwks && jwt) {
      c.set('principal', `sub:${await verifiedSubject(token, jwks, jwt)}`);
    } else {
      const accepted = [keys.length ? API_KEY_HEADER : '', jwks ? `${CLIENT_TOKEN_HEADER} (JWT)` : ''].filter(Boolean).join(' or ');
      throw unauthenticated(`send ${accepted}`);
    }
    await next();
  };
}

async function verifiedSubject(token: string, jwks: ReturnType<typeof createRemoteJWKSet>, jwt: NonNullable<ClientAuthOptions['jwt']>): Promise<string> {
  try {
    // Malformed tokens are refused before anything could trigger a key-set fetch.
    decodeProtectedHeader(token);
  } catch {
    throw unauthenticated(`${CLIENT_TOKEN_HEADER} is not a JWT`);
  }
  try {
    // A token without exp would be valid forever, one without iat of unknown age, one without sub nobody's.
    const { payload } = await jwtVerify(token, jwks, {
      issuer: jwt.issuer,
      audience: jwt.audience,
      algorithms: ALGORITHMS,
      requiredClaims: ['exp', 'iat', 'sub'],
      maxTokenAge: jwt.maxAgeSeconds ?? 3600,
      clockTolerance: 30,
    });
    if (typeof payload.sub !== 'string' || payload.sub === '') throw unauthenticated(`${CLIENT_TOKEN_HEADER} has no subject`);
    return payload.sub;
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (typeof code === 'string' && TOKEN_FAULT.test(code)) throw unauthenticated(`${CLIENT_TOKEN_HEADER} rejected (${code.slice(4).toLowerCase()})`);
    if ((error as Error)?.name === 'RelayError') throw error;
    throw authUnavailable(error);
  }
}
