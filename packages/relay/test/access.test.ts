// Client credentials and rate limits as the running relay applies them (real
// socket, so requests have a client): probes and the API description stay
// open, models and sessions need X-API-Key, and the per-client session limit
// answers 429 rate_limited with Retry-After.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../src/relay.ts';
import { TestClient, bearer, errorOf, loadStories, octet, startRelay, testConfig } from './relay-test-kit.ts';

const KEY = 'access-test-key-0123456789abcdef';
const OTHER_KEY = 'access-test-key-fedcba9876543210';
let relay: Relay;
let client: TestClient;
const call = (path: string, init: RequestInit = {}) => fetch(`${relay.url}${path}`, init);

beforeAll(async () => {
  const model = await loadStories('insecure-n2048-q109');
  relay = await startRelay(testConfig({ workers: 1, preset: 'insecure-n2048-q109', port: 0, apiKeys: [KEY, OTHER_KEY], rateLimitSessionsPerHour: 2 }), { models: [model], listen: true });
  client = await TestClient.create(model.descriptor);
});
afterAll(async () => {
  client?.delete();
  await relay?.close();
});

describe('access', () => {
  it('keeps health, readiness, metrics and the OpenAPI document open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/v1/openapi.json']) expect((await call(path)).status, path).toBe(200);
  });

  it('requires X-API-Key on models and sessions: 401 unauthenticated without it', async () => {
    for (const path of ['/v1/models', '/v1/models/stories260K', '/v1/models/stories260K/tokenizer']) {
      expect(await errorOf(await call(path))).toEqual({ status: 401, code: 'unauthenticated' });
      expect((await call(path, { headers: { 'x-api-key': KEY } })).status).toBe(200);
    }
    const keys = client.keysEnvelope() as Uint8Array<ArrayBuffer>;
    expect(await errorOf(await call('/v1/sessions?model=stories260K', { method: 'POST', body: keys, headers: octet }))).toEqual({ status: 401, code: 'unauthenticated' });
    const created = await call('/v1/sessions?model=stories260K', { method: 'POST', body: keys, headers: { ...octet, 'x-api-key': KEY } });
    expect(created.status).toBe(201);
    const session = (await created.json()) as { id: string; token: string };
    // The session token alone is not enough, the key alone neither.
    expect(await errorOf(await call(`/v1/sessions/${session.id}`, { headers: bearer(session.token) }))).toEqual({ status: 401, code: 'unauthenticated' });
    expect(await errorOf(await call(`/v1/sessions/${session.id}`, { headers: { 'x-api-key': KEY } }))).toEqual({ status: 401, code: 'unauthorized' });
    expect((await call(`/v1/sessions/${session.id}`, { headers: { ...bearer(session.token), 'x-api-key': KEY } })).status).toBe(200);
  });

  it('keeps idle connections open longer than load balancers keep theirs (no reuse race)', async () => {
    const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => http.get(`${relay.url}/healthz`, (res) => resolve(res.resume().headers)).on('error', reject));
    expect(headers['keep-alive']).toBe('timeout=75');
  });

  it('lets browsers send the credential headers (CORS preflight needs no credential)', async () => {
    const res = await call('/v1/sessions', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key,x-client-token,authorization,content-type' },
    });
    expect(res.status).toBe(204);
    for (const header of ['X-API-Key', 'X-Client-Token', 'Authorization']) expect(res.headers.get('access-control-allow-headers')).toContain(header);
  });

  it('limits new sessions per API key: 429 rate_limited with Retry-After', async () => {
    const keys = client.keysEnvelope() as Uint8Array<ArrayBuffer>;
    const post = (key: string) => call('/v1/sessions?model=stories260K', { method: 'POST', body: keys, headers: { ...octet, 'x-api-key': key } });
    // KEY made one session above; its second is allowed, its third is not.
    expect((await post(KEY)).status).toBe(201);
    const refused = await post(KEY);
    expect(await errorOf(refused.clone())).toEqual({ status: 429, code: 'rate_limited' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect((await post(OTHER_KEY)).status).toBe(201);
  });
});
