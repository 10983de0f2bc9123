// Sessions live in memory: after a restart the relay has forgotten them and
// says so with 404 session_not_found, the code the SDK answers by uploading
// its keys again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostedModel } from '../src/models/hosted-model.ts';
import { TestClient, bearer, createSession, errorOf, loadStories, startRelay, testConfig } from './relay-test-kit.ts';

let model: HostedModel;
let client: TestClient;
beforeAll(async () => {
  model = await loadStories('insecure-n2048-q109');
  client = await TestClient.create(model.descriptor);
});
afterAll(() => client?.delete());

describe('restart', () => {
  it('a session from the previous instance is unknown: 404 session_not_found', async () => {
    const config = testConfig({ workers: 1, preset: 'insecure-n2048-q109' });
    const first = await startRelay(config, { models: [model] });
    const session = await createSession((p, i) => first.app.request(p, i), 'stories260K', client.keysEnvelope());
    expect((await first.app.request(`/v1/sessions/${session.id}`, { headers: bearer(session.token) })).status).toBe(200);
    await first.close();

    const second = await startRelay(config, { models: [model] });
    try {
      expect(await errorOf(await second.app.request(`/v1/sessions/${session.id}`, { headers: bearer(session.token) }))).toEqual({ status: 404, code: 'session_not_found' });
      const step = await second.app.request('/v1/models/stories260K/steps/1', { method: 'POST', body: new Uint8Array(32), headers: bearer(session.token) });
      expect(await errorOf(step)).toEqual({ status: 404, code: 'session_not_found' });
      // Uploading the keys again is all it takes.
      const again = await createSession((p, i) => second.app.request(p, i), 'stories260K', client.keysEnvelope());
      expect(again.keysHash).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await second.close();
    }
  });
});
