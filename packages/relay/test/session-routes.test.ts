// Health, model and session routes in-process (app.request), with real SEAL
// key validation in the worker pool and the production preset.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRESET, decodeEnvelope, encodeEnvelope, maxSealObjectBytes } from '@fhe-llm/core';
import type { HostedModel } from '../src/models/hosted-model.ts';
import { Relay } from '../src/relay.ts';
import { createLogger } from '../src/logger.ts';
import { TestClient, bearer, createSession, errorOf, loadStories, modelsDir, octet, startRelay, testConfig } from './relay-test-kit.ts';

let model: HostedModel;
let relay: Relay;
let client: TestClient;
let keys: Uint8Array;
const request = (path: string, init?: RequestInit) => relay.app.request(path, init);
const postKeys = (body: Uint8Array, headers: Record<string, string> = octet, model = 'stories260K') =>
  request(`/v1/sessions?model=${model}`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers });

beforeAll(async () => {
  model = await loadStories(DEFAULT_PRESET);
  relay = await startRelay(testConfig({ maxSessions: 5 }), { models: [model] });
  client = await TestClient.create(model.descriptor);
  keys = client.keysEnvelope();
});
afterAll(async () => {
  client?.delete();
  await relay?.close();
});

describe('health and metrics', () => {
  it('healthz answers always; readyz only once models and workers are up', async () => {
    const cold = new Relay(testConfig(), { logger: createLogger('silent'), listen: false });
    expect((await cold.app.request('/healthz')).status).toBe(200);
    const notReady = await cold.app.request('/readyz');
    expect([notReady.status, notReady.headers.get('retry-after')]).toEqual([503, '1']);
    expect((await errorOf(await cold.app.request('/v1/models'))).code).toBe('not_ready');
    await cold.close();
    expect((await request('/healthz')).status).toBe(200);
    const ready = await request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', models: ['stories260K'], workers: 2 });
  });

  it('exposes Prometheus metrics', async () => {
    await request('/v1/models');
    const text = await (await request('/metrics')).text();
    for (const name of [
      'fhe_relay_http_requests_total',
      'fhe_relay_http_request_duration_seconds',
      'fhe_relay_step_evaluation_seconds',
      'fhe_relay_queue_depth',
      'fhe_relay_sessions',
      'fhe_relay_key_bytes',
      'fhe_relay_worker_busy_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toContain('route="/v1/models",status="200"');
  });
});

describe('models', () => {
  it('lists descriptors and serves one by id', async () => {
    const list = (await (await request('/v1/models')).json()) as { models: { id: string }[] };
    expect(list.models.map((m) => m.id)).toEqual(['stories260K']);
    const descriptor = await (await request('/v1/models/stories260K')).json();
    // The relay announces its response privacy (default: re-randomize) with each descriptor.
    expect(descriptor).toEqual(JSON.parse(JSON.stringify({ ...model.descriptor, responsePrivacy: { mode: 'rerandomize' } })));
    expect(descriptor).toMatchObject({ preset: DEFAULT_PRESET, maxVectors: 64, galoisSteps: model.descriptor.galoisSteps });
    // No matrices: no "weight" or "bias" field, and far smaller than any step's weights.
    const json = JSON.stringify(descriptor);
    expect(json).not.toMatch(/"(weight|bias)":/);
    expect(json.length).toBeLessThan(64 * 1024);
  });

  it('serves the tokenizer file bytes', async () => {
    const res = await request('/v1/models/stories260K/tokenizer');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(new URL('tok512.bin', modelsDir)))).toBe(true);
  });

  it('answers 404 model_not_found for unknown models', async () => {
    expect(await errorOf(await request('/v1/models/nope'))).toEqual({ status: 404, code: 'model_not_found' });
    expect(await errorOf(await request('/v1/models/nope/tokenizer'))).toEqual({ status: 404, code: 'model_not_found' });
  });
});

describe('sessions', () => {
  it('creates a session from valid keys', async () => {
    const res = await postKeys(keys);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const s = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(s).sort()).toEqual(['expiresAt', 'id', 'keyBytes', 'keysHash', 'model', 'token']);
    expect(s.id).toMatch(/^[0-9a-f]{32}$/);
    expect(s.token).toMatch(new RegExp(`^${s.id}\\.[A-Za-z0-9_-]{43}$`));
    expect(s.model).toBe('stories260K');
    expect(s.keysHash).toMatch(/^[0-9a-f]{64}$/);
    expect(s.keyBytes).toBeGreaterThan(100_000);
    expect(Date.parse(s.expiresAt as string) - Date.now()).toBeGreaterThan(3590_000);
  });

  it('stores identical keys once but issues a new session each time', async () => {
    const a = await createSession(request, 'stories260K', keys);
    const bytesBefore = await relay.services.store.keyBytes();
    const b = await createSession(request, 'stories260K', keys);
    expect(b.id).not.toBe(a.id);
    expect(b.keysHash).toBe(a.keysHash);
    expect(await relay.services.store.keyBytes()).toBe(bytesBefore);
    for (const s of [a, b]) await request(`/v1/sessions/${s.id}`, { method: 'DELETE', headers: bearer(s.token) });
  });

  it('reads and deletes a session with its bearer token', async () => {
    const s = await createSession(request, 'stories260K', keys);
    const got = await request(`/v1/sessions/${s.id}`, { headers: bearer(s.token) });
    expect(await got.json()).toMatchObject({ id: s.id, model: 'stories260K', keysHash: s.keysHash, keyBytes: s.keyBytes, expiresAt: s.expiresAt });
    const wrong = `${s.id}.${'A'.repeat(43)}`;
    expect(await errorOf(await request(`/v1/sessions/${s.id}`, { headers: bearer(wrong) }))).toEqual({ status: 401, code: 'unauthorized' });
    expect(await errorOf(await request(`/v1/sessions/${s.id}`, { method: 'DELETE', headers: bearer(wrong) }))).toEqual({ status: 401, code: 'unauthorized' });
    expect((await request(`/v1/sessions/${s.id}`, { method: 'DELETE', headers: bearer(s.token) })).status).toBe(204);
    expect(await errorOf(await request(`/v1/sessions/${s.id}`, { headers: bearer(s.token) }))).toEqual({ status: 404, code: 'session_not_found' });
    expect(await errorOf(await request(`/v1/sessions/${s.id}`, { method: 'DELETE', headers: bearer(s.token) }))).toEqual({ status: 404, code: 'session_not_found' });
  });

  it('refuses keys that miss a Galois step: 422 missing_galois_keys', async () => {
    const partial = client.keysEnvelope(model.descriptor.galoisSteps.slice(0, -1));
    expect(await errorOf(await postKeys(partial))).toEqual({ status: 422, code: 'missing_galois_keys' });
  });

  it('refuses bytes that are no SEAL object (400 bad_seal_header) and keys SEAL rejects (422 invalid_keys)', async () => {
    const garbage = encodeEnvelope({ kind: 'galoisKeys', presetId: model.descriptor.preset, vectors: 0, items: [new Uint8Array(5000).fill(3)] });
    expect(await errorOf(await postKeys(garbage))).toEqual({ status: 400, code: 'bad_seal_header' });
    // Well-formed keys whose coefficients exceed the moduli.
    const keys = client.ctx.loadGaloisKeys(decodeEnvelope(client.keysEnvelope()).items[0], model.descriptor.galoisSteps.length);
    const plain = keys.saveToArray(client.ctx.seal.ComprModeType.none) as Uint8Array;
    keys.delete();
    // Inside a key-switching ciphertext's coefficients (the tail holds empty slots' counts).
    const at = Math.floor(plain.length * 0.53);
    plain.fill(0xff, at, at + 4096);
    const corrupt = encodeEnvelope({ kind: 'galoisKeys', presetId: model.descriptor.preset, vectors: 0, items: [plain, decodeEnvelope(client.keysEnvelope()).items[1]] });
    expect(await errorOf(await postKeys(corrupt))).toEqual({ status: 422, code: 'invalid_keys' });
  });

  it('needs the public key when it re-randomizes: missing 400 public_key_required, oversized 400, garbage 400, invalid 422', async () => {
    const [galois, publicKey] = decodeEnvelope(keys).items;
    const envelope = (...items: Uint8Array[]) => encodeEnvelope({ kind: 'galoisKeys', presetId: DEFAULT_PRESET, vectors: 0, items });
    expect(await errorOf(await postKeys(envelope(galois)))).toEqual({ status: 400, code: 'public_key_required' });
    // A header claiming one byte more than a public key can be, and those bytes.
    const max = maxSealObjectBytes(client.ctx.preset, { kind: 'publicKey' });
    const big = new Uint8Array(max + 1);
    big.set(publicKey.subarray(0, 16));
    new DataView(big.buffer).setUint8(5, 0);
    new DataView(big.buffer).setBigUint64(8, BigInt(big.length), true);
    expect(await errorOf(await postKeys(envelope(galois, big)))).toEqual({ status: 400, code: 'seal_object_too_large' });
    expect(await errorOf(await postKeys(envelope(galois, new Uint8Array(300).fill(9))))).toEqual({ status: 400, code: 'bad_seal_header' });
    // Well-formed, but its coefficients exceed the moduli: SEAL's check.
    const pk = client.ctx.loadPublicKey(publicKey);
    const plain = pk.saveToArray(client.ctx.seal.ComprModeType.none) as Uint8Array;
    pk.delete();
    plain.fill(0xff, plain.length - 4096, plain.length);
    expect(await errorOf(await postKeys(envelope(galois, plain)))).toEqual({ status: 422, code: 'invalid_public_key' });
    // Galois keys where the public key belongs are no public key either.
    expect((await errorOf(await postKeys(envelope(galois, galois)))).status).toBeGreaterThanOrEqual(400);
    expect(relay.services.pool?.isReady).toBe(true);
  });

  it('refuses malformed envelopes with their wire-format code', async () => {
    const otherPreset = encodeEnvelope({ kind: 'galoisKeys', presetId: 'insecure-n2048-q109', vectors: 0, items: [new Uint8Array(4)] });
    expect(await errorOf(await postKeys(otherPreset))).toEqual({ status: 400, code: 'preset_mismatch' });
    const ciphertexts = encodeEnvelope({ kind: 'ciphertexts', presetId: DEFAULT_PRESET, vectors: 1, items: [new Uint8Array(4)] });
    expect(await errorOf(await postKeys(ciphertexts))).toEqual({ status: 400, code: 'bad_kind' });
    const three = encodeEnvelope({ kind: 'galoisKeys', presetId: DEFAULT_PRESET, vectors: 0, items: [new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)] });
    expect(await errorOf(await postKeys(three))).toEqual({ status: 400, code: 'too_many_items' });
    const none = encodeEnvelope({ kind: 'galoisKeys', presetId: DEFAULT_PRESET, vectors: 0, items: [] });
    expect(await errorOf(await postKeys(none))).toEqual({ status: 400, code: 'bad_count' });
    const bad = keys.slice();
    bad[0] ^= 1;
    expect(await errorOf(await postKeys(bad))).toEqual({ status: 400, code: 'bad_magic' });
    expect(await errorOf(await postKeys(keys.subarray(0, 10)))).toEqual({ status: 400, code: 'truncated' });
  });

  it('answers 415, 413, 404 and 400 for the wrong content type, size, model or query', async () => {
    expect(await errorOf(await postKeys(keys, { 'content-type': 'application/json' }))).toEqual({ status: 415, code: 'unsupported_media_type' });
    expect(await errorOf(await postKeys(new Uint8Array(8 * 1024 * 1024 + 1)))).toEqual({ status: 413, code: 'body_too_large' });
    expect(await errorOf(await postKeys(keys, octet, 'nope'))).toEqual({ status: 404, code: 'model_not_found' });
    expect(await errorOf(await request('/v1/sessions', { method: 'POST', body: keys as Uint8Array<ArrayBuffer>, headers: octet }))).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('refuses new sessions beyond --max-sessions with 503 too_many_sessions', async () => {
    const made = [];
    while ((await relay.services.store.count()) < 5) made.push(await createSession(request, 'stories260K', keys));
    const res = await postKeys(keys);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(await errorOf(res)).toEqual({ status: 503, code: 'too_many_sessions' });
    for (const s of made) await request(`/v1/sessions/${s.id}`, { method: 'DELETE', headers: bearer(s.token) });
  });
});
