// The step route in-process: real encryption, evaluation on the worker pool,
// every client mistake mapped to its code, backpressure and deadlines.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlaintextStepRunner, buildSchedule, encodeEnvelope, parseLlama2cCheckpoint, planModelStep, decodeEnvelope, DEFAULT_PRESET } from '@fhe-llm/core';
import { groupSizes } from '@fhe-llm/core/protocol';
import { decryptStepResponse, encryptStepRequest } from '@fhe-llm/core/client';
import type { HostedModel } from '../src/models/hosted-model.ts';
import type { Relay } from '../src/relay.ts';
import { TestClient, bearer, createSession, errorOf, loadStories, modelsDir, startRelay, testConfig, type CreatedSession } from './relay-test-kit.ts';

let model: HostedModel;
let relay: Relay;
let client: TestClient;
let session: CreatedSession;
let otherSession: CreatedSession;
const plaintext = new PlaintextStepRunner(buildSchedule(parseLlama2cCheckpoint(new Uint8Array(readFileSync(new URL('stories260K.bin', modelsDir))))));

function inputs(step: number, count: number, seed = 1): Float64Array[] {
  const { dIn, bounds } = model.descriptor.steps[step];
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: count }, () => Float64Array.from({ length: dIn }, () => 0.5 * bounds.input * rand()));
}

function stepBody(step: number, xs: Float64Array[]): Uint8Array<ArrayBuffer> {
  return encryptStepRequest(client.client, planModelStep(model.descriptor, step, xs.length), xs) as Uint8Array<ArrayBuffer>;
}

/** A labelled counter's values from the relay's /metrics, one per label value. */
async function counters(name: string, label: string, values: readonly string[]): Promise<number[]> {
  const text = await (await relay.app.request('/metrics')).text();
  return values.map((value) => Number(new RegExp(`${name}\\{${label}="${value}"\\} (\\d+)`).exec(text)?.[1]));
}

/** A counter's series by evaluation path (kernel, seal) so far. */
async function pathCounts(name: string): Promise<{ kernel: number; seal: number }> {
  const [kernel, seal] = await counters(name, 'path', ['kernel', 'seal']);
  return { kernel, seal };
}

/** The workers' CPU seconds so far, by part (task, upkeep). */
async function workerCpuSeconds(): Promise<{ task: number; upkeep: number }> {
  const text = await (await relay.app.request('/metrics')).text();
  const read = (part: string) => Number(new RegExp(`fhe_relay_worker_cpu_seconds_total\\{part="${part}"\\} ([\\d.e-]+)`).exec(text)?.[1]);
  return { task: read('task'), upkeep: read('upkeep') };
}

const postStep = (r: Relay, step: number | string, body: Uint8Array, token = session.token, modelId = 'stories260K', headers = bearer(token)) =>
  r.app.request(`/v1/models/${modelId}/steps/${step}`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers });

beforeAll(async () => {
  model = await loadStories(DEFAULT_PRESET);
  const other: HostedModel = { ...model, id: 'stories-b', descriptor: { ...model.descriptor, id: 'stories-b' } };
  relay = await startRelay(testConfig(), { models: [model, other] });
  client = await TestClient.create(model.descriptor);
  const keys = client.keysEnvelope();
  const request = (path: string, init: RequestInit) => relay.app.request(path, init);
  session = await createSession(request, 'stories260K', keys);
  otherSession = await createSession(request, 'stories-b', keys);
});
afterAll(async () => {
  client?.delete();
  await relay?.close();
});

describe('POST /v1/models/{id}/steps/{step}', () => {
  it.each([
    [1, 1],
    [2, 3],
    [1, 34],
  ])('evaluates step %i for %i vectors like the plaintext model', async (step, count) => {
    const xs = inputs(step, count, step * 100 + count);
    const plan = planModelStep(model.descriptor, step, count);
    if (count === 34) expect(groupSizes(plan, count).length).toBeGreaterThan(1);
    const res = await postStep(relay, step, stepBody(step, xs));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    // The workers' busy time and CPU time for this request.
    const timing = /^worker;dur=(\d+\.\d), worker-cpu;dur=(\d+\.\d)$/.exec(res.headers.get('server-timing') ?? '');
    expect(Number(timing?.[1])).toBeGreaterThan(0);
    expect(Number(timing?.[2])).toBeGreaterThan(0);
    const ys = decryptStepResponse(client.client, plan, count, new Uint8Array(await res.arrayBuffer()));
    const want = await plaintext.runStep(step, xs);
    const tolerance = 1e-2 * Math.max(1, model.descriptor.steps[step].bounds.output);
    ys.forEach((y, i) => y.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThan(tolerance)));
  });

  it('records per-step evaluation latency', async () => {
    const text = await (await relay.app.request('/metrics')).text();
    expect(text).toMatch(/fhe_relay_step_evaluation_seconds_count\{model="stories260K",step="1"\} [1-9]/);
    // What an operator watches: steps served, latency per model, queue wait, key cache, worker memory.
    expect(text).toMatch(/fhe_relay_steps_served_total\{model="stories260K"\} [1-9]/);
    expect(text).toMatch(/fhe_relay_step_duration_seconds_count\{model="stories260K"\} [1-9]/);
    expect(text).toMatch(/fhe_relay_queue_wait_seconds_count [1-9]/);
    expect(text).toMatch(/fhe_relay_sessions_created_total\{model="stories260K"\} [1-9]/);
    expect(text).toMatch(/fhe_relay_key_cache_lookups_total\{result="hit"\} [1-9]/);
    expect(text).toMatch(/fhe_relay_key_cache_lookups_total\{result="miss"\} [1-9]/);
    expect(text).toMatch(/fhe_relay_key_cache_bytes [1-9]\d{5,}/);
    expect(text).toMatch(/fhe_relay_worker_heap_bytes\{space="external"\} [1-9]\d{6,}/);
    expect(text).toMatch(/fhe_relay_worker_heap_bytes\{space="v8"\} [1-9]\d{5,}/);
    expect(text).toContain('fhe_relay_workers 2');
    expect(text).toContain('fhe_relay_tasks_in_flight 0');
    expect(text).toContain('fhe_relay_ready 1');
    expect(text).toContain('fhe_relay_store_up 1');
    expect(text).toContain('fhe_relay_worker_restarts_total 0');
  });

  it('re-randomizes responses to a decoding session with encryptions of zero made between its requests', async () => {
    const zeros = async () => {
      const [spare, onRequest] = await counters('fhe_relay_zero_encryptions_total', 'source', ['spare', 'on_request']);
      return { spare, onRequest };
    };
    const before = await zeros();
    const cpuBefore = await workerCpuSeconds();
    // A decoding client: one request at a time, with its own work in between.
    let reportedCpuMs = 0;
    for (let i = 0; i < 8; i++) {
      const res = await postStep(relay, 1, stepBody(1, inputs(1, 1, i)));
      expect(res.status).toBe(200);
      reportedCpuMs += Number(/worker-cpu;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1]);
      await new Promise((r) => setTimeout(r, 20));
    }
    const after = await zeros();
    const cpuAfter = await workerCpuSeconds();
    const spare = after.spare - before.spare;
    const onRequest = after.onRequest - before.onRequest;
    expect(spare + onRequest).toBe(8);
    // Each worker's first response for the session may miss; a worker blocked between tasks would miss them all.
    expect(spare).toBeGreaterThanOrEqual(5);
    // The spares cost the workers CPU between tasks: counted as upkeep, and in the relay CPU each answer reports.
    const upkeepMs = 1000 * (cpuAfter.upkeep - cpuBefore.upkeep);
    const taskMs = 1000 * (cpuAfter.task - cpuBefore.task);
    expect(upkeepMs).toBeGreaterThan(0);
    expect(Math.abs(reportedCpuMs - (taskMs + upkeepMs))).toBeLessThan(1);
  });

  it("sums each giant step's products in SEAL's memory in its workers (the kernel is found there, not silently skipped)", async () => {
    const products = () => pathCounts('fhe_relay_plain_products_total');
    const before = await products();
    for (const step of [0, 1, 2]) expect((await postStep(relay, step, stepBody(step, inputs(step, 1)))).status).toBe(200);
    const after = await products();
    const kernel = after.kernel - before.kernel;
    const seal = after.seal - before.seal;
    // The kernel writes every sum of products (making the checks SEAL's multiply_plain would); SEAL multiplies none.
    expect(kernel).toBeGreaterThan(0);
    expect(seal).toBe(0);
  });

  it("sums each output tile's giant steps and folds with shared key switches in its workers (the rotation kernel runs)", async () => {
    const rotations = () => pathCounts('fhe_relay_rotations_total');
    const before = await rotations();
    for (const step of [0, 1, 2]) expect((await postStep(relay, step, stepBody(step, inputs(step, 1)))).status).toBe(200);
    const after = await rotations();
    // Per the plans: the kernel sums every giant step beyond the first and makes hoisted folds' G - 1 rotations; SEAL makes doubling folds.
    const plans = [0, 1, 2].map((step) => planModelStep(model.descriptor, step, 1));
    const summed = plans.reduce((n, p) => n + (p.giantRotations === 'summed' ? p.outTiles * (p.giantSteps - 1) : 0), 0);
    const hoisted = plans.reduce((n, p) => n + (p.folds === 'hoisted' ? p.outTiles * (p.chunks - 1) : 0), 0);
    const doubling = plans.reduce((n, p) => n + (p.folds === 'doubling' ? p.outTiles * Math.log2(p.chunks) : 0), 0);
    expect(summed).toBeGreaterThan(0);
    expect(hoisted).toBeGreaterThan(0);
    expect(after.kernel - before.kernel).toBe(summed + hoisted);
    expect(after.seal - before.seal).toBe(doubling);
  });

  it('answers 404 step_not_found, model_not_found and session_not_found', async () => {
    const body = stepBody(1, inputs(1, 1));
    for (const step of ['11', '99', 'x', '-1', '1.5', '']) {
      const res = await postStep(relay, step, body);
      if (step === '') expect(res.status).toBe(404);
      else expect(await errorOf(res)).toEqual({ status: 404, code: 'step_not_found' });
    }
    expect(await errorOf(await postStep(relay, 1, body, session.token, 'nope'))).toEqual({ status: 404, code: 'model_not_found' });
    const gone = await createSession((p, i) => relay.app.request(p, i), 'stories260K', client.keysEnvelope());
    await relay.app.request(`/v1/sessions/${gone.id}`, { method: 'DELETE', headers: bearer(gone.token) });
    expect(await errorOf(await postStep(relay, 1, body, gone.token))).toEqual({ status: 404, code: 'session_not_found' });
  });

  it("answers 401 without a valid token and 409 for another model's session", async () => {
    const body = stepBody(1, inputs(1, 1));
    expect(await errorOf(await postStep(relay, 1, body, '', 'stories260K', { 'content-type': 'application/octet-stream' }))).toEqual({ status: 401, code: 'unauthorized' });
    expect(await errorOf(await postStep(relay, 1, body, `${session.id}.${'B'.repeat(43)}`))).toEqual({ status: 401, code: 'unauthorized' });
    expect(await errorOf(await postStep(relay, 1, body, otherSession.token))).toEqual({ status: 409, code: 'session_model_mismatch' });
  });

  it('answers 415 and 413 before reading the body', async () => {
    const body = stepBody(1, inputs(1, 1));
    expect(await errorOf(await postStep(relay, 1, body, session.token, 'stories260K', { authorization: `Bearer ${session.token}`, 'content-type': 'text/plain' }))).toEqual({
      status: 415,
      code: 'unsupported_media_type',
    });
    const huge = await postStep(relay, 1, new Uint8Array(model.stepBodyLimit + 1));
    expect(await errorOf(huge)).toEqual({ status: 413, code: 'body_too_large' });
  });

  it('answers 400 with the wire-format code for broken envelopes', async () => {
    const body = stepBody(1, inputs(1, 1));
    const magic = body.slice();
    magic[1] ^= 0xff;
    expect(await errorOf(await postStep(relay, 1, magic))).toEqual({ status: 400, code: 'bad_magic' });
    const version = body.slice();
    version[4] = 9;
    expect(await errorOf(await postStep(relay, 1, version))).toEqual({ status: 400, code: 'unsupported_version' });
    const env = decodeEnvelope(body);
    expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, presetId: 'ckks-n8192-q218' })))).toEqual({ status: 400, code: 'preset_mismatch' });
    expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, kind: 'galoisKeys' })))).toEqual({ status: 400, code: 'bad_kind' });
    expect(await errorOf(await postStep(relay, 1, body.subarray(0, body.length - 1)))).toEqual({ status: 400, code: 'truncated' });
  });

  it('answers 422 for ciphertexts SEAL rejects and for counts, levels and sizes off the plan', async () => {
    const body = stepBody(1, inputs(1, 1));
    const env = decodeEnvelope(body);
    // Clients upload ciphertexts uncompressed, but the relay also takes zstd ones (any client may send them).
    const loaded = client.ctx.loadCiphertext(env.items[0]);
    const corrupt = client.ctx.save(loaded);
    loaded.delete();
    // 54-bit residues barely compress, so zstd may store them raw and a flipped payload byte
    // would still inflate: break the zstd frame's own header (right after SEAL's 16 bytes).
    for (let i = 16; i < 24; i++) corrupt[i] ^= 0x5a;
    // Plans may upload several ciphertexts (baby-step shifts): corrupt the first, keep the count.
    // A corrupt compressed stream is caught while inflating (within its bound), before SEAL.
    expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, items: [corrupt, ...env.items.slice(1)] })))).toEqual({ status: 400, code: 'bad_compression' });
    // Well-formed bytes whose coefficients exceed the moduli: SEAL's validity check refuses them.
    const plain = client.ctx.loadCiphertext(env.items[0]);
    const uncompressed = plain.saveToArray(client.ctx.seal.ComprModeType.none) as Uint8Array;
    plain.delete();
    uncompressed.fill(0xff, uncompressed.length - 4096, uncompressed.length - 200);
    expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, items: [uncompressed, ...env.items.slice(1)] })))).toEqual({ status: 422, code: 'invalid_ciphertext' });
    expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, items: [...env.items, env.items[0]] })))).toEqual({ status: 422, code: 'bad_count' });
    expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, vectors: 0 })))).toEqual({ status: 422, code: 'bad_count' });
    expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, vectors: 65 })))).toEqual({ status: 422, code: 'too_many_vectors' });
    expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, vectors: 0xffffffff })))).toEqual({ status: 422, code: 'too_many_vectors' });
    const ct = client.ctx.loadCiphertext(env.items[0]);
    try {
      if (client.ctx.preset.dataPrimeBits.length > 1) {
        client.ctx.evaluator.cipherModSwitchToNextInplace(ct);
        const lowered = client.ctx.save(ct);
        expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, items: [lowered, ...env.items.slice(1)] })))).toEqual({ status: 422, code: 'bad_level' });
      } else {
        // A flat preset has one level: the plan's scale is what a stray ciphertext gets wrong.
        ct.setScale(ct.scale() * 2);
        const rescaled = client.ctx.save(ct);
        expect(await errorOf(await postStep(relay, 1, encodeEnvelope({ ...env, items: [rescaled, ...env.items.slice(1)] })))).toEqual({ status: 422, code: 'bad_scale' });
      }
    } finally {
      ct.delete();
    }
  });

  it('keeps serving after all those mistakes', async () => {
    expect((await postStep(relay, 1, stepBody(1, inputs(1, 1)))).status).toBe(200);
    expect((await relay.app.request('/readyz')).status).toBe(200);
  });
});

describe('backpressure', () => {
  it('answers 503 overloaded with Retry-After once the queue is full', async () => {
    const small = await startRelay(testConfig({ workers: 1, maxQueue: 1 }), { models: [model] });
    try {
      const s = await createSession((p, i) => small.app.request(p, i), 'stories260K', client.keysEnvelope());
      const body = stepBody(1, inputs(1, 1));
      const answers = await Promise.all(Array.from({ length: 8 }, () => postStep(small, 1, body, s.token)));
      const statuses = answers.map((r) => r.status);
      expect(statuses).toContain(200);
      expect(statuses).toContain(503);
      const busy = answers.find((r) => r.status === 503)!;
      expect(busy.headers.get('retry-after')).toBe('1');
      expect(await errorOf(busy)).toEqual({ status: 503, code: 'overloaded' });
      const rejected = statuses.filter((st) => st === 503).length;
      expect(await (await small.app.request('/metrics')).text()).toContain(`fhe_relay_rejections_total{status="503",code="overloaded"} ${rejected}`);
    } finally {
      await small.close();
    }
  });

  it('serves a request of more tasks than the whole queue holds when nothing waits (retrying could never help it)', async () => {
    // 9 vectors of a step: 2 ciphertext groups, 2 tasks, against a queue of 1. GPT-2 small's prompts hit
    // this at 33 tokens: every step is then 2 tasks per token (giant-step parts or output tiles).
    const small = await startRelay(testConfig({ workers: 1, maxQueue: 1 }), { models: [model] });
    try {
      const s = await createSession((p, i) => small.app.request(p, i), 'stories260K', client.keysEnvelope());
      const xs = inputs(1, 9);
      expect(groupSizes(planModelStep(model.descriptor, 1, 9), 9).length).toBeGreaterThan(1);
      const res = await postStep(small, 1, stepBody(1, xs), s.token);
      expect(res.status).toBe(200);
      const ys = decryptStepResponse(client.client, planModelStep(model.descriptor, 1, 9), 9, new Uint8Array(await res.arrayBuffer()));
      expect(ys).toHaveLength(9);
    } finally {
      await small.close();
    }
  });

  it('answers 503 deadline_exceeded when a request outlives --request-timeout-ms, aborting its task', async () => {
    const hasty = await startRelay(testConfig({ workers: 1, requestTimeoutMs: 300 }), { models: [model] });
    try {
      // Loading keys takes ~100 ms; on a loaded machine it can pass the 300 ms deadline, so try a few times.
      let s: CreatedSession | undefined;
      for (let attempt = 0; !s; attempt++) {
        try {
          s = await createSession((p, i) => hasty.app.request(p, i), 'stories260K', client.keysEnvelope());
        } catch (error) {
          if (attempt >= 4) throw error;
        }
      }
      // The costliest step (the logits) at the most vectors a request may carry, a plan no worker has encoded yet:
      // well over 300 ms even with the kernels (a smaller step came within the deadline on a fast run).
      const last = model.descriptor.steps.length - 1;
      const body = stepBody(last, inputs(last, model.descriptor.maxVectors));
      const started = performance.now();
      const res = await postStep(hasty, last, body, s.token);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await errorOf(res)).toEqual({ status: 503, code: 'deadline_exceeded' });
      // The aborted worker is replaced; the relay serves again once it is up.
      await hasty.services.pool!.waitUntilReady(30_000);
      const again = await postStep(hasty, 1, stepBody(1, inputs(1, 1)), s.token);
      expect([again.status, again.status === 200 ? '' : await again.text()]).toEqual([200, '']);
      // ... and counted as a restart (the worker_recycles alert).
      const restarts = async () => /fhe_relay_worker_restarts_total (\d+)/.exec(await (await hasty.app.request('/metrics')).text())?.[1];
      for (let i = 0; i < 50 && (await restarts()) === '0'; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await restarts()).toBe('1');
    } finally {
      await hasty.close();
    }
  });
});
