import { createServer, type Server } from 'node:http';
import { Hono } from 'hono';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/cluster-kit.ts';
import type { RelayEnv } from '../relay-env.ts';
import { clientAuth, type ClientAuthOptions } from './client-auth.ts';
import { errorHandler } from './error-handler.ts';

const KEY_A = 'a-test-api-key-0123456789';
const KEY_B = 'b-test-api-key-0123456789';
const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'fhe-llm-relay';

let jwksServer: Server;
let jwksUrl: string;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

function appWith(options: ClientAuthOptions) {
  const app = new Hono<RelayEnv>();
  app.use('/v1/*', clientAuth(options));
  app.get('/v1/models', (c) => c.json({ principal: c.get('principal') ?? null }));
  app.onError(errorHandler(pino({ level: 'silent' })));
  return app;
}
const call = async (app: Hono<RelayEnv>, headers: Record<string, string> = {}) => {
  const res = await app.request('/v1/models', { headers });
  return { status: res.status, body: (await res.json()) as { principal?: string; error?: { code: string; message: string } }, retryAfter: res.headers.get('retry-after') };
};
const token = (claims: { sub?: string; iss?: string; aud?: string; exp?: number | string | null; iat?: number | null } = {}, key = signingKey, kid = 'k1') => {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE);
  if (claims.iat !== null) jwt.setIssuedAt(claims.iat);
  if (claims.exp !== null) jwt.setExpirationTime(claims.exp ?? '5m');
  if (claims.sub !== '') jwt.setSubject(claims.sub ?? 'alice');
  return jwt.sign(key);
};

describe('clientAuth', () => {
  it('admits everyone when no credential is configured', async () => {
    expect(await call(appWith({ apiKeys: [] }))).toMatchObject({ status: 200, body: { principal: null } });
  });

  it('takes any configured X-API-Key, identified by a digest, and refuses others with 401 unauthenticated', async () => {
    const app = appWith({ apiKeys: [KEY_A, KEY_B] });
    const a = await call(app, { 'x-api-key': KEY_A });
    const b = await call(app, { 'x-api-key': KEY_B });
    expect(a.body.principal).toMatch(/^key:[0-9a-f]{16}$/);
    expect(b.body.principal).not.toBe(a.body.principal);
    expect(a.body.principal).not.toContain(KEY_A);
    const wrong: Record<string, string>[] = [{}, { 'x-api-key': `${KEY_A}x` }, { 'x-api-key': '' }, { authorization: `Bearer ${KEY_A}` }];
    for (const headers of wrong) {
      const { status, body } = await call(app, headers);
      expect([status, body.error?.code]).toEqual([401, 'unauthenticated']);
      expect(body.error?.message).not.toContain(KEY_A);
    }
  });

  it('verifies X-Client-Token JWTs against the remote key set, issuer and audience', async () => {
    const app = appWith({ apiKeys: [], jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE } });
    expect(await call(app, { 'x-client-token': await token() })).toMatchObject({ status: 200, body: { principal: 'sub:alice' } });
    const bad = [
      await token({ exp: Math.floor(Date.now() / 1000) - 60 }),
      await token({ aud: 'another-app' }),
      await token({ iss: 'https://evil.test/' }),
      await token({ sub: '' }),
      await token({}, strangerKey),
      await token({}, strangerKey, 'unknown-kid'),
      'not.a.jwt',
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"mallory"}').toString('base64url')}.`,
    ];
    for (const t of bad) expect(await call(app, { 'x-client-token': t }), t).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
    expect((await call(app)).status).toBe(401);
  });

  it('requires exp, iat and sub, and refuses tokens older than the maximum age (token misuse)', async () => {
    const app = appWith({ apiKeys: [], jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE, maxAgeSeconds: 600 } });
    const now = Math.floor(Date.now() / 1000);
    const misuse = {
      'no exp (valid forever)': await token({ exp: null }),
      'no iat (unknown age)': await token({ iat: null }),
      'no sub': await token({ sub: '' }),
      'issued 2 hours ago, expiring in a year': await token({ iat: now - 7200, exp: now + 365 * 86400 }),
    };
    for (const [name, t] of Object.entries(misuse)) {
      expect({ name, ...(await call(app, { 'x-client-token': t })) }).toMatchObject({ name, status: 401, body: { error: { code: 'unauthenticated' } } });
    }
    expect((await call(app, { 'x-client-token': await token({ iat: now - 300 }) })).status).toBe(200);
  });

  it('accepts either credential when both are configured', async () => {
    const app = appWith({ apiKeys: [KEY_A], jwt: { jwksUrl, issuer: ISSUER, audience: AUDIENCE } });
    expect((await call(app, { 'x-api-key': KEY_A })).status).toBe(200);
    expect((await call(app, { 'x-client-token': await token({ sub: 'bob' }) })).body.principal).toBe('sub:bob');
    expect((await call(app, { 'x-api-key': 'wrong-key-wrong-key' })).status).toBe(401);
    expect((await call(app)).body.error?.message).toContain('X-API-Key or X-Client-Token');
  });

  it('answers 503 auth_unavailable with Retry-After when the key set cannot be fetched', async () => {
    const app = appWith({ apiKeys: [], jwt: { jwksUrl: `http://127.0.0.1:${await freePort()}/jwks.json`, issuer: ISSUER, audience: AUDIENCE } });
    const res = await call(app, { 'x-client-token': await token() });
    expect([res.status, res.body.error?.code, res.retryAfter]).toEqual([503, 'auth_unavailable', '2']);
  });
});
