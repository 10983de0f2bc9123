// Attack suite, SEAL payloads: compressed and uncompressed objects that
// would grow a worker's WebAssembly heap by gigabytes are refused with a
// typed 400 before SEAL sees them, the workers' heaps stay within the bound,
// and an established session keeps working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, planModelStep } from '@fhe-llm/core';
import { decryptStepResponse, encryptStepRequest } from '@fhe-llm/core/client';
import type { HostedModel } from '../src/models/hosted-model.ts';
import { Relay } from '../src/relay.ts';
import { createLogger } from '../src/logger.ts';
import { TestClient, bearer, createSession, errorOf, loadStories, octet, startRelay, testConfig, type CreatedSession } from './relay-test-kit.ts';
import { sealBombs } from './seal-bombs.ts';

const MiB = 1024 * 1024;
let model: HostedModel;
let relay: Relay;
let client: TestClient;
let session: CreatedSession;
const request = (path: string, init?: RequestInit) => relay.app.request(path, init);

/** Code each bomb must be refused with. */
const EXPECTED: Record<string, string> = {
  'zstd RLE blocks beyond the declared size (1 GiB)': 'inflation_limit',
  'zstd declaring 1 GiB': 'inflation_limit',
  'zlib (64 MiB)': 'inflation_limit',
  'uncompressed, 2^40 key slots': 'bad_seal_object',
  'unknown compression mode': 'bad_compression',
};

function validStep(step: number): { body: Uint8Array; plan: ReturnType<typeof planModelStep> } {
  const plan = planModelStep(model.descriptor, step, 1);
  const x = new Float64Array(model.descriptor.steps[step].dIn).fill(0.1);
  return { body: encryptStepRequest(client.client, plan, [x]), plan };
}

async function stepStillWorks(): Promise<void> {
  const { body, plan } = validStep(1);
  const res = await request('/v1/models/stories260K/steps/1', { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: bearer(session.token) });
  expect(res.status).toBe(200);
  const [y] = decryptStepResponse(client.client, plan, 1, new Uint8Array(await res.arrayBuffer()));
  expect(y.every(Number.isFinite)).toBe(true);
}

let galoisKeys: Uint8Array;
let publicKey: Uint8Array;

beforeAll(async () => {
  model = await loadStories(testConfig().preset);
  relay = await startRelay(testConfig(), { models: [model] });
  client = await TestClient.create(model.descriptor);
  const keys = client.keysEnvelope();
  [galoisKeys, publicKey] = decodeEnvelope(keys).items;
  session = await createSession(request, 'stories260K', keys);
  await stepStillWorks();
});
afterAll(async () => {
  client?.delete();
  await relay?.close();
});

describe('hostile SEAL payloads', () => {
  it('refuses each bomb as Galois keys or as the public key with a typed 400, heap bounded, relay ready', async () => {
    const heapBefore = relay.services.pool!.peakWorkerHeapBytes;
    for (const [name, bomb] of Object.entries(sealBombs())) {
      expect(bomb.length, name).toBeLessThan(128 * 1024);
      const body = encodeEnvelope({ kind: 'galoisKeys', presetId: model.descriptor.preset, vectors: 0, items: [bomb, publicKey] });
      const res = await request('/v1/sessions?model=stories260K', { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: octet });
      expect({ name, ...(await errorOf(res)) }).toEqual({ name, status: 400, code: EXPECTED[name] });
    }
    // The same bombs where the relay expects the client's public key (re-randomized responses).
    for (const [name, bomb] of Object.entries(sealBombs())) {
      const body = encodeEnvelope({ kind: 'galoisKeys', presetId: model.descriptor.preset, vectors: 0, items: [galoisKeys, bomb] });
      const res = await request('/v1/sessions?model=stories260K', { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: octet });
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
    }
    expect(relay.services.pool!.peakWorkerHeapBytes - heapBefore).toBeLessThan(64 * MiB);
    expect((await request('/readyz')).status).toBe(200);
    await stepStillWorks();
  });

  it('refuses each bomb as a step ciphertext with a typed 400, heap bounded, other sessions unaffected', async () => {
    const heapBefore = relay.services.pool!.peakWorkerHeapBytes;
    const valid = decodeEnvelope(validStep(1).body);
    for (const [name, bomb] of Object.entries(sealBombs())) {
      const body = encodeEnvelope({ ...valid, items: [bomb, ...valid.items.slice(1)] });
      const res = await request('/v1/models/stories260K/steps/1', { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: bearer(session.token) });
      const code = name.startsWith('uncompressed') ? 'bad_seal_object' : EXPECTED[name];
      expect({ name, ...(await errorOf(res)) }).toEqual({ name, status: 400, code });
    }
    expect(relay.services.pool!.peakWorkerHeapBytes - heapBefore).toBeLessThan(64 * MiB);
    expect(relay.services.pool!.recycledWorkers).toBe(0);
    await stepStillWorks();
  });

  it('refuses Galois keys for more rotations than the model uses (exact step set)', async () => {
    const steps = model.descriptor.galoisSteps;
    const extra = [...steps, Array.from({ length: steps.length + 1 }, (_, i) => i + 1).find((s) => !steps.includes(s)) as number];
    const res = await request('/v1/sessions?model=stories260K', { method: 'POST', body: client.keysEnvelope(extra) as Uint8Array<ArrayBuffer>, headers: octet });
    expect(await errorOf(res)).toEqual({ status: 400, code: 'too_many_galois_keys' });
    const fewer = model.descriptor.galoisSteps.slice(1);
    expect(await errorOf(await request('/v1/sessions?model=stories260K', { method: 'POST', body: client.keysEnvelope(fewer) as Uint8Array<ArrayBuffer>, headers: octet }))).toEqual({
      status: 422,
      code: 'missing_galois_keys',
    });
  });
});

describe('worker heap budget', () => {
  /** The one worker's heap once it is ready (SEAL and the model's pre-encoded weights). */
  async function readyWorkerHeap(r: Relay): Promise<number> {
    const text = await (await r.app.request('/metrics')).text();
    return Number(/fhe_relay_worker_heap_bytes\{space="external"\} (\d+)/.exec(text)?.[1]);
  }

  it('replaces a worker whose heap passed its budget after it answered, and keeps serving', async () => {
    const probe = await startRelay(testConfig({ workers: 1 }), { models: [model] });
    const ready = await readyWorkerHeap(probe).finally(() => probe.close());
    expect(ready).toBeGreaterThan(16 * MiB);
    // Above what the model needs (with room for the garbage a heap reading may include), below what its
    // batched plans add: requests of 8 vectors encode each step's 8-vector plan (about 200 MB in all).
    const small = await startRelay(testConfig({ workers: 1, workerHeapBytes: ready + 16 * MiB }), { models: [model] });
    try {
      const smallRequest = (path: string, init?: RequestInit) => small.app.request(path, init);
      const own = await createSession(smallRequest, 'stories260K', client.keysEnvelope());
      const pool = small.services.pool!;
      for (let step = 0; step < model.descriptor.steps.length && pool.recycledWorkers === 0; step++) {
        const plan = planModelStep(model.descriptor, step, 8);
        const xs = Array.from({ length: 8 }, () => new Float64Array(model.descriptor.steps[step].dIn).fill(0.1));
        const res = await smallRequest(`/v1/models/stories260K/steps/${step}`, {
          method: 'POST',
          body: encryptStepRequest(client.client, plan, xs) as Uint8Array<ArrayBuffer>,
          headers: bearer(own.token),
        });
        expect(res.status).toBe(200);
      }
      expect(pool.recycledWorkers).toBe(1);
      for (let i = 0; i < 2; i++) {
        // The replacement loads SEAL and the model; until then the relay says so with 503 not_ready.
        while (!pool.isReady) await new Promise((r) => setTimeout(r, 100));
        const { body } = validStep(1);
        const res = await smallRequest('/v1/models/stories260K/steps/1', { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: bearer(own.token) });
        expect(res.status).toBe(200);
      }
      // The replacement recycles too once its own heap (keys, warmed plans) passes the budget.
      expect(pool.recycledWorkers).toBeGreaterThanOrEqual(1);
    } finally {
      await small.close();
    }
  });

  it('keeps a worker whose model alone needs more than the budget: replaced at once, it would never serve', async () => {
    const tight = await startRelay(testConfig({ workers: 1, workerHeapBytes: 16 * MiB }), { models: [model] });
    try {
      const tightRequest = (path: string, init?: RequestInit) => tight.app.request(path, init);
      const own = await createSession(tightRequest, 'stories260K', client.keysEnvelope());
      for (let i = 0; i < 3; i++) {
        const { body } = validStep(1);
        const res = await tightRequest('/v1/models/stories260K/steps/1', { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: bearer(own.token) });
        expect(res.status).toBe(200);
      }
      expect(tight.services.pool!.recycledWorkers).toBe(0);
    } finally {
      await tight.close();
    }
  });

  it('refuses to start when a worker could never fit its models, key cache and a task under 4 GiB, and says what to change', async () => {
    // A key cache as large as WebAssembly's whole heap stands in for a model share too large for one worker.
    const doomed = new Relay(testConfig({ workers: 1, keyCacheBytes: 4 * 1024 * MiB }), { logger: createLogger('silent'), listen: false, models: [model] });
    try {
      await expect(doomed.start()).rejects.toThrow(/past WebAssembly's 4 GiB; .*--key-cache-bytes/);
    } finally {
      await doomed.close();
    }
  });
});
