// 10,000+ hostile bodies against every POST route: the relay must answer
// each with a 2xx or a 4xx JSON error, never a 5xx or a crash, and still be
// healthy (and correct) afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planModelStep } from '@fhe-llm/core';
import { decryptStepResponse, encryptStepRequest } from '@fhe-llm/core/client';
import { createLogger } from '../src/logger.ts';
import type { Relay } from '../src/relay.ts';
import { Rng, mutate } from './fuzz-bodies.ts';
import { TestClient, bearer, createSession, loadStories, octet, startRelay, testConfig, type CreatedSession } from './relay-test-kit.ts';

const TOTAL = Number(process.env.FUZZ_TOTAL ?? 10_000);
const CONCURRENCY = 8;
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_126);

let relay: Relay;
let client: TestClient;
let session: CreatedSession;
const errorLogs: string[] = [];

beforeAll(async () => {
  const model = await loadStories('insecure-n2048-q109');
  relay = await startRelay(testConfig({ preset: 'insecure-n2048-q109' }), {
    models: [model],
    logger: createLogger('error', { write: (line: string) => void errorLogs.push(line) }),
  });
  client = await TestClient.create(model.descriptor);
  session = await createSession((p, i) => relay.app.request(p, i), 'stories260K', client.keysEnvelope());
});
afterAll(async () => {
  client?.delete();
  await relay?.close();
});

function stepSeed(step: number, vectors: number): Uint8Array {
  const { dIn } = client.descriptor.steps[step];
  const xs = Array.from({ length: vectors }, (_, v) => Float64Array.from({ length: dIn }, (_, i) => Math.sin(i + v) * 0.1));
  return encryptStepRequest(client.client, planModelStep(client.descriptor, step, vectors), xs);
}

describe('fuzz', () => {
  it(`survives ${TOTAL} random and mutated bodies on every POST route`, async () => {
    const rng = new Rng(SEED);
    const keySeed = client.keysEnvelope();
    const stepSeeds = [
      { step: 0, body: stepSeed(0, 1) },
      { step: 1, body: stepSeed(1, 1) },
      { step: 2, body: stepSeed(2, 3) },
      { step: 10, body: stepSeed(10, 1) },
    ];
    // Five groups of eight vectors: exercises group splitting, but costs ~50x a single vector, so it is drawn rarely.
    const multiGroupSeed = { step: 1, body: stepSeed(1, 34) };
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    const failures: string[] = [];

    const one = async (i: number) => {
      const toSessions = rng.next() < 0.3;
      let path: string;
      let seedBody: Uint8Array;
      let headers: Record<string, string>;
      if (toSessions) {
        path = '/v1/sessions?model=stories260K';
        seedBody = keySeed;
        headers = octet;
      } else {
        const seed = rng.next() < 0.03 ? multiGroupSeed : rng.pick(stepSeeds);
        const step = rng.next() < 0.9 ? seed.step : rng.pick([seed.step + 1, 11, 99, -1]);
        path = `/v1/models/stories260K/steps/${step}`;
        seedBody = seed.body;
        headers = bearer(session.token);
      }
      const { body, mutator } = mutate(rng, seedBody);
      const res = await relay.app.request(path, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) failures.push(`#${i} ${mutator} ${path}: ${res.status} ${await res.text()}`);
      else if (res.status === 201) {
        // Mutations that only touch a key's seed still make valid keys; drop those sessions again.
        const created = (await res.json()) as CreatedSession;
        await relay.app.request(`/v1/sessions/${created.id}`, { method: 'DELETE', headers: bearer(created.token) });
      } else if (res.status >= 400) {
        const error = ((await res.json()) as { error: { code: string; message: string } }).error;
        expect(typeof error.message).toBe('string');
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      } else await res.arrayBuffer();
    };

    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TOTAL) await one(next++);
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ fuzz: TOTAL, seed: SEED, seconds: Number(seconds.toFixed(1)), statuses: Object.fromEntries(statuses), codes: Object.fromEntries(codes) }));

    expect(failures).toEqual([]);
    expect(errorLogs).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL);
    expect((await relay.app.request('/healthz')).status).toBe(200);
    expect((await relay.app.request('/readyz')).status).toBe(200);

    // Still correct, not just alive.
    const x = Float64Array.from({ length: client.descriptor.steps[1].dIn }, (_, i) => Math.cos(i) * 0.2);
    const plan = planModelStep(client.descriptor, 1, 1);
    const res = await relay.app.request('/v1/models/stories260K/steps/1', {
      method: 'POST',
      body: encryptStepRequest(client.client, plan, [x]) as Uint8Array<ArrayBuffer>,
      headers: bearer(session.token),
    });
    expect(res.status).toBe(200);
    const [y] = decryptStepResponse(client.client, plan, 1, new Uint8Array(await res.arrayBuffer()));
    expect(y.every(Number.isFinite)).toBe(true);
  }, 120_000);
});
