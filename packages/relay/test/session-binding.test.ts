// Attack suite, sessions: a session belongs to the client credential that
// created it (cross-principal use is 403), one client cannot hold more than
// its quota (session floods are 429 while other clients are unaffected), and
// a session dies at its absolute lifetime however busy it is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planModelStep } from '@fhe-llm/core';
import { encryptStepRequest } from '@fhe-llm/core/client';
import type { HostedModel } from '../src/models/hosted-model.ts';
import type { Relay } from '../src/relay.ts';
import { TestClient, bearer, errorOf, loadStories, octet, startRelay, testConfig, type CreatedSession } from './relay-test-kit.ts';

const KEY_A = 'app-a-key-0123456789abcdef';
const KEY_B = 'app-b-key-0123456789abcdef';
let model: HostedModel;
let relay: Relay;
let client: TestClient;
let keys: Uint8Array;
const request = (path: string, init?: RequestInit) => relay.app.request(path, init);

async function open(apiKey: string): Promise<Response> {
  return request('/v1/sessions?model=stories260K', { method: 'POST', body: keys as Uint8Array<ArrayBuffer>, headers: { ...octet, 'x-api-key': apiKey } });
}
async function step(session: CreatedSession, apiKey: string): Promise<Response> {
  const plan = planModelStep(model.descriptor, 1, 1);
  const body = encryptStepRequest(client.client, plan, [new Float64Array(model.descriptor.steps[1].dIn).fill(0.1)]);
  return request('/v1/models/stories260K/steps/1', { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { ...bearer(session.token), 'x-api-key': apiKey } });
}

beforeAll(async () => {
  model = await loadStories('insecure-n2048-q109');
  relay = await startRelay(testConfig({ workers: 1, preset: 'insecure-n2048-q109', apiKeys: [KEY_A, KEY_B], maxSessionsPerClient: 2, sessionMaxLifetime: 3 }), { models: [model] });
  client = await TestClient.create(model.descriptor);
  keys = client.keysEnvelope();
});
afterAll(async () => {
  client?.delete();
  await relay?.close();
});

describe('sessions bound to principals', () => {
  it('refuses another credential, or none, with the right token: 403 session_principal_mismatch / 401', async () => {
    const res = await open(KEY_A);
    expect(res.status).toBe(201);
    const session = (await res.json()) as CreatedSession;
    expect((await step(session, KEY_A)).status).toBe(200);
    expect(await errorOf(await step(session, KEY_B))).toEqual({ status: 403, code: 'session_principal_mismatch' });
    const noKey = await request(`/v1/sessions/${session.id}`, { headers: bearer(session.token) });
    expect((await errorOf(noKey)).status).toBe(401);
    expect(await errorOf(await request(`/v1/sessions/${session.id}`, { method: 'DELETE', headers: { ...bearer(session.token), 'x-api-key': KEY_B } }))).toEqual({
      status: 403,
      code: 'session_principal_mismatch',
    });
    expect((await request(`/v1/sessions/${session.id}`, { method: 'DELETE', headers: { ...bearer(session.token), 'x-api-key': KEY_A } })).status).toBe(204);
  });

  it("caps one client's sessions (429 session_quota_exceeded) without touching another client", async () => {
    const mine = [await open(KEY_A), await open(KEY_A)];
    expect(mine.map((r) => r.status)).toEqual([201, 201]);
    const flood = await open(KEY_A);
    expect([...Object.values(await errorOf(flood)), flood.headers.get('retry-after')]).toEqual([429, 'session_quota_exceeded', '60']);
    const theirs = await open(KEY_B);
    expect(theirs.status).toBe(201);
    const first = (await mine[0].json()) as CreatedSession;
    await request(`/v1/sessions/${first.id}`, { method: 'DELETE', headers: { ...bearer(first.token), 'x-api-key': KEY_A } });
    expect((await open(KEY_A)).status).toBe(201);
    expect((await step((await theirs.json()) as CreatedSession, KEY_B)).status).toBe(200);
  });

  it('ends a session at its absolute lifetime however often it is used', async () => {
    const res = await open(KEY_B);
    const session = (await res.json()) as CreatedSession & { createdAt?: string };
    const expires = Date.parse(session.expiresAt);
    expect(expires - Date.now()).toBeLessThanOrEqual(3_000);
    expect((await step(session, KEY_B)).status).toBe(200);
    const after = (await (await request(`/v1/sessions/${session.id}`, { headers: { ...bearer(session.token), 'x-api-key': KEY_B } })).json()) as { expiresAt: string };
    expect(Date.parse(after.expiresAt)).toBe(expires);
    await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 50));
    expect(await errorOf(await step(session, KEY_B))).toEqual({ status: 404, code: 'session_not_found' });
  });
});
