// --shard-steps auto with 2 workers: a step's output tiles go to their owning
// workers, each worker holds only its tiles, and the response is the one an
// unsplit evaluation gives, byte for byte. The insecure N=2048 preset keeps it
// fast and gives stories260K's last step (576 x 236) three output tiles.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GaloisKeys } from 'node-seal';
import { PlaintextStepRunner, buildSchedule, decodeEnvelope, encodeEnvelope, parseLlama2cCheckpoint, planModelStep } from '@fhe-llm/core';
import { groupSizes } from '@fhe-llm/core/protocol';
import { decryptStepResponse, encryptStepRequest } from '@fhe-llm/core/client';
import { StepOperators, evaluateGroup, evaluateGroupShared, splitRequestGroups } from '@fhe-llm/core/server';
import type { HostedModel } from '../src/models/hosted-model.ts';
import type { Relay } from '../src/relay.ts';
import { TestClient, bearer, createSession, errorOf, loadStories, modelsDir, startRelay, testConfig, type CreatedSession } from './relay-test-kit.ts';

const PRESET = 'insecure-n2048-q109';
const LAST = 10;
// The embedding + QKV step: one output tile, and 16 giant steps that two workers share.
const FIRST = 0;
// As the relay's workers hold it (Float32), so the unsplit reference is byte-identical.
const schedule = buildSchedule(parseLlama2cCheckpoint(new Uint8Array(readFileSync(new URL('stories260K.bin', modelsDir)))), { precision: 'float32' });
const plaintext = new PlaintextStepRunner(schedule);

let model: HostedModel;
let relay: Relay;
let client: TestClient;
let session: CreatedSession;
let keys: GaloisKeys;
let unsplit: StepOperators;
let keysEnvelope: Uint8Array;

function inputs(step: number, count: number, seed: number): Float64Array[] {
  const { dIn, bounds } = model.descriptor.steps[step];
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: count }, () => Float64Array.from({ length: dIn }, () => 0.5 * bounds.input * rand()));
}

/** A shared step's answer as this process gives it computing every part itself: what the workers must give between them. */
function sharedReference(plan: ReturnType<typeof planModelStep>, body: Uint8Array, vectors: number): Uint8Array[] {
  const operator = unsplit.get(FIRST, vectors).operator;
  return splitRequestGroups(plan, decodeEnvelope(body, { kind: 'ciphertexts', presetId: plan.presetId })).flatMap((group) =>
    evaluateGroupShared(
      operator,
      keys,
      group,
      plan.giantParts,
      () => true,
      () => [],
    ),
  );
}

const postStep = (r: Relay, step: number, body: Uint8Array, token: string) =>
  r.app.request(`/v1/models/stories260K/steps/${step}`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: bearer(token) });

beforeAll(async () => {
  // Two workers may share one request, as the relay plans by default with two workers.
  model = await loadStories(PRESET, 'stories260K', 2);
  // Off: the test compares the sharded answer byte for byte with an unsharded evaluation, which re-randomizing would change.
  relay = await startRelay(testConfig({ preset: PRESET, workers: 2, responsePrivacy: 'off' }), { models: [model] });
  client = await TestClient.create(model.descriptor);
  keysEnvelope = client.keysEnvelope(undefined, false);
  session = await createSession((p, i) => relay.app.request(p, i), 'stories260K', keysEnvelope);
  // The reference: the same model evaluated whole, in this process, by one unsharded operator set,
  // with the session's very keys (fresh ones would switch keys with other noise).
  keys = client.ctx.loadGaloisKeys(decodeEnvelope(keysEnvelope, { kind: 'galoisKeys', presetId: PRESET }).items[0]);
  unsplit = new StepOperators(client.ctx, model.descriptor, schedule);
});
afterAll(async () => {
  unsplit?.delete();
  keys?.delete();
  client?.delete();
  await relay?.close();
});

describe('sharded steps', () => {
  it.each([
    [1, 3],
    [9, 7],
  ])('%i vector(s) of a 2+-tile step: tiles on both workers, the unsplit bytes, the plaintext values', async (count, seed) => {
    const pool = relay.services.pool!;
    expect(pool.sharded).toBe(true);
    const plan = planModelStep(model.descriptor, LAST, count);
    expect(plan.outTiles).toBeGreaterThanOrEqual(3);
    if (count > 1) expect(groupSizes(plan, count).length).toBeGreaterThan(1);
    const before = pool.laneReadings().map((l) => l.tilesEvaluated);

    const xs = inputs(LAST, count, seed);
    const body = encryptStepRequest(client.client, plan, xs);
    const res = await postStep(relay, LAST, body, session.token);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());

    // Round robin: per group, worker 0 evaluated tiles 0, 2, ... and worker 1 tiles 1, 3, ...
    const groups = groupSizes(plan, count).length;
    const lanes = pool.laneReadings();
    const evaluated = lanes.map((l, k) => l.tilesEvaluated - before[k]);
    expect(evaluated).toEqual([Math.ceil(plan.outTiles / 2) * groups, Math.floor(plan.outTiles / 2) * groups]);
    // ... and each holds pre-encoded only the tiles it owns.
    const all = Array.from({ length: plan.outTiles }, (_, r) => r);
    expect(lanes.map((l) => l.heldTiles.get(`stories260K:${LAST}:${count}`))).toEqual([all.filter((r) => r % 2 === 0), all.filter((r) => r % 2 === 1)]);

    // Byte for byte what one worker evaluating every tile answers: the client needs no change.
    const operator = unsplit.get(LAST, count).operator;
    const reference = splitRequestGroups(plan, decodeEnvelope(body, { kind: 'ciphertexts', presetId: plan.presetId })).flatMap((group) => evaluateGroup(operator, keys, group));
    const items = decodeEnvelope(bytes, { kind: 'ciphertexts', presetId: plan.presetId }).items;
    // Buffer.equals: a failing toEqual would diff megabytes of ciphertext for minutes.
    expect(items.map((item, i) => Buffer.from(item).equals(Buffer.from(reference[i])))).toEqual(reference.map(() => true));

    const ys = decryptStepResponse(client.client, plan, count, bytes);
    const want = await plaintext.runStep(LAST, xs);
    const tolerance = 1e-2 * Math.max(1, model.descriptor.steps[LAST].bounds.output);
    ys.forEach((y, i) => y.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThan(tolerance)));

    // Worker CPU is summed over the tiles' tasks.
    const timing = /worker-cpu;dur=(\d+\.\d)/.exec(res.headers.get('server-timing') ?? '');
    expect(Number(timing?.[1])).toBeGreaterThan(0);
  });

  it('a single-tile step is held by every worker and its giant steps are shared: each part computed once, the bytes of the same split evaluated here', async () => {
    const pool = relay.services.pool!;
    const plan = planModelStep(model.descriptor, FIRST, 1);
    expect(plan.outTiles).toBe(1);
    expect(plan.giantParts).toBe(2);
    const before = pool.laneReadings().map((l) => l.partsEvaluated);
    const requests = 4;
    for (let k = 0; k < requests; k++) {
      const xs = inputs(FIRST, 1, 5 + k);
      const body = encryptStepRequest(client.client, plan, xs);
      const res = await postStep(relay, FIRST, body, session.token);
      expect(res.status).toBe(200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      // This process computing every part itself does exactly what the workers did between them.
      const reference = sharedReference(plan, body, 1);
      const items = decodeEnvelope(bytes, { kind: 'ciphertexts', presetId: plan.presetId }).items;
      expect(items.map((item, i) => Buffer.from(item).equals(Buffer.from(reference[i])))).toEqual([true]);
      const [y] = decryptStepResponse(client.client, plan, 1, bytes);
      const [want] = await plaintext.runStep(FIRST, xs);
      y.forEach((v, j) => expect(Math.abs(v - want[j])).toBeLessThan(1e-2 * Math.max(1, model.descriptor.steps[FIRST].bounds.output)));
    }
    // Whichever worker got to it, every part was computed exactly once.
    const parts = pool.laneReadings().map((l, k) => l.partsEvaluated - before[k]);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(requests * plan.giantParts);
    const held = pool.laneReadings().map((l) => l.heldTiles.get(`stories260K:${FIRST}:1`));
    for (const tiles of held) expect(tiles).toEqual([0]);
  });

  it('held apart (--shared-parts-max-bytes 0): each part runs on its owner only, and the answer is the same bytes', async () => {
    const apart = await startRelay(testConfig({ preset: PRESET, workers: 2, responsePrivacy: 'off', sharedPartsMaxBytes: 0 }), { models: [model] });
    try {
      // The very keys of the in-process reference: fresh ones would switch keys with other noise.
      const own = await createSession((p, i) => apart.app.request(p, i), 'stories260K', keysEnvelope);
      const pool = apart.services.pool!;
      for (const count of [1, 9]) {
        const plan = planModelStep(model.descriptor, FIRST, count);
        const groups = groupSizes(plan, count).length;
        expect([plan.outTiles, plan.giantParts, groups > 1]).toEqual([1, 2, count > 1]);
        const before = pool.laneReadings().map((l) => l.partsEvaluated);
        const xs = inputs(FIRST, count, 40 + count);
        const body = encryptStepRequest(client.client, plan, xs);
        const res = await postStep(apart, FIRST, body, own.token);
        expect(res.status).toBe(200);
        const bytes = new Uint8Array(await res.arrayBuffer());
        // Never claimed by the other worker, even for several groups (where whole-held parts are not split).
        expect(pool.laneReadings().map((l, k) => l.partsEvaluated - before[k])).toEqual([groups, groups]);
        const reference = sharedReference(plan, body, count);
        const items = decodeEnvelope(bytes, { kind: 'ciphertexts', presetId: plan.presetId }).items;
        expect(items.map((item, i) => Buffer.from(item).equals(Buffer.from(reference[i])))).toEqual(reference.map(() => true));
        const ys = decryptStepResponse(client.client, plan, count, bytes);
        const want = await plaintext.runStep(FIRST, xs);
        ys.forEach((y, i) => y.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThan(1e-2 * Math.max(1, model.descriptor.steps[FIRST].bounds.output))));
      }
    } finally {
      await apart.close();
    }
  });

  it('a shared step answers a ciphertext SEAL rejects with its 422, whichever part fails first, and serves again', async () => {
    const plan = planModelStep(model.descriptor, FIRST, 1);
    const env = decodeEnvelope(encryptStepRequest(client.client, plan, inputs(FIRST, 1, 21)), { kind: 'ciphertexts', presetId: plan.presetId });
    const broken = env.items.map((item) => item.slice());
    broken[broken.length - 1].fill(0xff, broken[0].length - 1024, broken[0].length - 8);
    for (let k = 0; k < 3; k++) {
      expect(await errorOf(await postStep(relay, FIRST, encodeEnvelope({ ...env, items: broken }), session.token))).toEqual({ status: 422, code: 'invalid_ciphertext' });
    }
    expect((await postStep(relay, FIRST, encodeEnvelope(env), session.token)).status).toBe(200);
  });

  it('off: one queue, no tile split', async () => {
    const off = await startRelay(testConfig({ preset: PRESET, workers: 2, shardSteps: 'off' }), { models: [model] });
    try {
      expect(off.services.pool!.sharded).toBe(false);
      expect(off.services.pool!.laneReadings()).toHaveLength(1);
    } finally {
      await off.close();
    }
  });

  it('a deadline that passes while tiles run on both workers answers 503 deadline_exceeded, and the relay serves again', async () => {
    const hasty = await startRelay(testConfig({ preset: PRESET, workers: 2, requestTimeoutMs: 200 }), { models: [model] });
    try {
      let own: CreatedSession | undefined;
      for (let attempt = 0; !own; attempt++) {
        try {
          own = await createSession((p, i) => hasty.app.request(p, i), 'stories260K', client.keysEnvelope());
        } catch (error) {
          if (attempt >= 4) throw error;
        }
      }
      // 64 vectors of the last step: many groups x 2 workers, far more than 200 ms of work.
      const plan = planModelStep(model.descriptor, LAST, 64);
      const res = await postStep(hasty, LAST, encryptStepRequest(client.client, plan, inputs(LAST, 64, 11)), own.token);
      expect(await errorOf(res)).toEqual({ status: 503, code: 'deadline_exceeded' });
      await hasty.services.pool!.waitUntilReady(30_000);
      const small = planModelStep(model.descriptor, LAST, 1);
      const again = await postStep(hasty, LAST, encryptStepRequest(client.client, small, inputs(LAST, 1, 12)), own.token);
      expect([again.status, again.status === 200 ? '' : await again.text()]).toEqual([200, '']);
    } finally {
      await hasty.close();
    }
  });
});
