// The query budget as the relay applies it, in-process: a principal's step
// requests are charged their vector counts before evaluation, and the one
// that does not fit is refused with 429 query_budget_exceeded.
import { planModelStep } from '@fhe-llm/core';
import { encryptStepRequest } from '@fhe-llm/core/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostedModel } from '../src/models/hosted-model.ts';
import type { Relay } from '../src/relay.ts';
import { TestClient, bearer, createSession, errorOf, loadStories, startRelay, testConfig, type CreatedSession } from './relay-test-kit.ts';

const PRESET = 'insecure-n2048-q109';
const KEY = 'budget-test-key-0123456789abcdef';
let model: HostedModel;
let relay: Relay;
let client: TestClient;
let session: CreatedSession;

beforeAll(async () => {
  model = await loadStories(PRESET);
  relay = await startRelay(testConfig({ workers: 1, preset: PRESET, apiKeys: [KEY], queryBudgetVectorsPerWindow: 5, queryBudgetWindowSeconds: 600 }), { models: [model] });
  client = await TestClient.create(model.descriptor);
  session = await createSession((path, init) => relay.app.request(path, init), 'stories260K', client.keysEnvelope(), { 'x-api-key': KEY });
});
afterAll(async () => {
  client?.delete();
  await relay?.close();
});

function post(count: number, body?: Uint8Array) {
  const xs = Array.from({ length: count }, () => new Float64Array(model.descriptor.steps[1].dIn).fill(0.01));
  const bytes = body ?? encryptStepRequest(client.client, planModelStep(model.descriptor, 1, count), xs);
  return relay.app.request('/v1/models/stories260K/steps/1', { method: 'POST', body: bytes as Uint8Array<ArrayBuffer>, headers: { ...bearer(session.token), 'x-api-key': KEY } });
}

describe('query budget through the relay', () => {
  it('charges vectors, not requests, and refuses the step that does not fit before evaluating it', async () => {
    // A malformed body is refused before the charge: it costs the client nothing.
    expect((await post(1, new Uint8Array(64))).status).toBe(400);
    const first = await post(3);
    expect(first.status).toBe(200);
    expect([first.headers.get('query-budget-limit'), first.headers.get('query-budget-remaining')]).toEqual(['5', '2']);
    expect(Number(first.headers.get('query-budget-reset'))).toBeGreaterThan(590);
    const served = await (await relay.app.request('/metrics')).text();
    const refused = await post(3);
    expect(await errorOf(refused)).toEqual({ status: 429, code: 'query_budget_exceeded' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(590);
    expect(refused.headers.get('query-budget-remaining')).toBe('2');
    // Nothing was evaluated for the refused request.
    const count = (text: string) => /fhe_relay_steps_served_total\{model="stories260K"\} (\d+)/.exec(text)?.[1];
    expect(count(await (await relay.app.request('/metrics')).text())).toBe(count(served));
    expect((await post(2)).headers.get('query-budget-remaining')).toBe('0');
  });
});
