import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GaloisKeys } from 'node-seal';
import { CkksClient } from '../client/ckks-client.ts';
import { LinearOperator } from '../linear/linear-operator.ts';
import { evaluatePlanPlain, linearReference } from '../linear/plain-twin.ts';
import { packInput } from '../linear/layout.ts';
import { planLinear } from '../linear/plan.ts';
import { randomVector, randomWeights, seededRandom } from '../linear/test-helpers.ts';
import { CkksContext } from '../seal/ckks-context.ts';
import { getPreset, plaintextBytesOf } from '../seal/presets.ts';
import { DEFAULT_SHARED_PARTS_MAX_BYTES, heldParts, heldTiles, isSharded, partOwner, partsHeldApart, shardTiles, tileOwner } from './tile-shards.ts';

describe('tile ownership', () => {
  it('shards operators of 2+ output tiles over 2+ workers, round robin', () => {
    expect(isSharded(1, 4)).toBe(false);
    expect(isSharded(3, 1)).toBe(false);
    expect(isSharded(2, 2)).toBe(true);
    expect([0, 1, 2, 3, 4].map((r) => tileOwner(r, 2))).toEqual([0, 1, 0, 1, 0]);
    expect(shardTiles(5, 2)).toEqual([
      { worker: 0, tiles: [0, 2, 4] },
      { worker: 1, tiles: [1, 3] },
    ]);
    // Workers beyond the tile count own nothing and get no task.
    expect(shardTiles(2, 4)).toEqual([
      { worker: 0, tiles: [0] },
      { worker: 1, tiles: [1] },
    ]);
    expect(shardTiles(1, 2)).toBeUndefined();
    expect(heldTiles(3, { index: 1, count: 2 })).toEqual([1]);
    expect(heldTiles(1, { index: 1, count: 2 })).toEqual([0]);
    expect(heldTiles(3, undefined)).toEqual([0, 1, 2]);
  });

  it('holds a shared lone tile whole up to the limit, and past it each part on its owner only', () => {
    const small = getPreset('ckks-flat-n4096-q109');
    const large = getPreset('ckks-flat-n8192-q120');
    // A stories260K step: a few MB, held whole by both workers, so either computes either part.
    const step = planLinear(small, 192, 236, { parallelism: 2 });
    expect(step.giantParts).toBe(2);
    expect(partsHeldApart(step, 2, plaintextBytesOf(small))).toBe(false);
    expect(partsHeldApart(step, 2, plaintextBytesOf(small), 0)).toBe(true);
    // GPT-2 small's attention-out + FFN-in step: about 100 MB.
    const gpt2 = planLinear(large, 3840, 1536, { parallelism: 2, msPerUploadByte: 5e-4 });
    expect(gpt2.cost.plainMults * plaintextBytesOf(large)).toBeGreaterThan(DEFAULT_SHARED_PARTS_MAX_BYTES);
    expect(partsHeldApart(gpt2, 2, plaintextBytesOf(large))).toBe(true);
    // Nothing to hold apart on one worker, for an unsplit tile, or for several tiles (those shard by tile).
    expect(partsHeldApart(gpt2, 1, plaintextBytesOf(large))).toBe(false);
    expect(partsHeldApart({ ...gpt2, giantParts: 1 }, 2, plaintextBytesOf(large))).toBe(false);
    expect(partsHeldApart({ ...gpt2, outTiles: 2 }, 2, plaintextBytesOf(large))).toBe(false);
    expect([0, 1, 2, 3].map((p) => partOwner(p, 2))).toEqual([0, 1, 0, 1]);
    expect(heldParts(4, { index: 1, count: 2 }, true)).toEqual([1, 3]);
    expect(heldParts(2, { index: 1, count: 2 }, false)).toEqual([0, 1]);
    expect(heldParts(2, undefined, true)).toEqual([0, 1]);
  });
});

describe('a step sharded over two workers (real CKKS)', () => {
  let ctx: CkksContext;
  let client: CkksClient;
  let keys: GaloisKeys;
  beforeAll(async () => {
    ctx = await CkksContext.create('insecure-n2048-q109');
    client = CkksClient.generate(ctx);
    keys = ctx.loadGaloisKeys(client.makeGaloisKeys(Array.from({ length: Math.log2(ctx.preset.slots) }, (_, i) => 2 ** i)));
  });
  afterAll(() => {
    keys.delete();
    client.delete();
    ctx.delete();
  });

  it('each worker holds only its tiles, and the assembled response equals the unsplit one byte for byte', () => {
    const rand = seededRandom(31);
    // 3 output tiles: worker 0 owns two (0 and 2, so assembly must interleave), worker 1 one.
    const w = randomWeights(rand, 2100, 24);
    const plan = planLinear(ctx.preset, 2100, 24);
    expect(plan.outTiles).toBe(3);
    const whole = new LinearOperator(ctx, plan, w);
    const workers = [0, 1].map((index) => new LinearOperator(ctx, plan, w, 'eager', { tiles: heldTiles(plan.outTiles, { index, count: 2 }) }));
    const x = randomVector(rand, 24);
    const inputs = client.encryptVectors(plan, [x]).map((b) => ctx.loadCiphertext(b));
    const save = (cts: ReturnType<LinearOperator['evaluate']>) => {
      try {
        return cts.map((ct) => ctx.save(ct));
      } finally {
        cts.forEach((ct) => ct.delete());
      }
    };
    try {
      expect(workers.map((op) => op.heldTiles)).toEqual([[0, 2], [1]]);
      expect(workers[0].encodedBytes + workers[1].encodedBytes).toBe(whole.encodedBytes);
      expect(workers[1].encodedBytes).toBeLessThan(whole.encodedBytes / 2);

      const unsplit = save(whole.evaluate(inputs, 1, keys));
      const assembled: Uint8Array[] = [];
      for (const { worker, tiles } of shardTiles(plan.outTiles, 2) ?? []) {
        save(workers[worker].evaluate(inputs, 1, keys, undefined, tiles)).forEach((bytes, i) => (assembled[tiles[i]] = bytes));
      }
      // Evaluation is deterministic and a tile's ciphertext depends on nothing but its own rows.
      expect(assembled).toEqual(unsplit);
      // Evaluating never made a worker hold more.
      expect(workers.map((op) => op.heldTiles)).toEqual([[0, 2], [1]]);

      // And it decrypts to the Float64 twin's slots and to W x + b.
      const twin = evaluatePlanPlain(plan, w, packInput(plan, [x]), 1);
      const slots = client.decryptSlots(assembled);
      for (let r = 0; r < plan.outTiles; r++) for (let j = 0; j < plan.slots; j += 7) expect(Math.abs(slots[r][j] - twin[r][j])).toBeLessThan(1e-4);
      const [y] = client.decryptVectors(plan, assembled, 1);
      const want = linearReference(w, x);
      for (let i = 0; i < w.dOut; i++) expect(Math.abs(y[i] - want[i])).toBeLessThan(1e-4);
    } finally {
      inputs.forEach((ct) => ct.delete());
      whole.delete();
      workers.forEach((op) => op.delete());
    }
  });

  it('giant-step parts held apart: each worker holds its parts only, computes only them once the matrix is released, and together they give the unsplit bytes', () => {
    const rand = seededRandom(33);
    const w = randomWeights(rand, 256, 256);
    const plan = planLinear(ctx.preset, 256, 256, { parallelism: 2 });
    expect([plan.outTiles, plan.giantParts]).toEqual([1, 2]);
    const whole = new LinearOperator(ctx, plan, w);
    // Each worker's own copy of the matrix, released as a relay worker does once its plans are encoded.
    const workers = [0, 1].map((index) => new LinearOperator(ctx, plan, { ...w }, 'eager', { parts: heldParts(2, { index, count: 2 }, true) }));
    // Still holding the matrix (a small model's, until its batched plans are warmed) does not make the other part its own.
    expect(workers.map((op) => [op.holdsPart(0), op.holdsPart(1)])).toEqual([
      [true, false],
      [false, true],
    ]);
    workers.forEach((op) => ((op.weights as { weight: Float64Array }).weight = new Float64Array(0)));
    const x = randomVector(rand, 256);
    const inputs = client.encryptVectors(plan, [x]).map((b) => ctx.loadCiphertext(b));
    const owned: ReturnType<LinearOperator['evaluate']>[] = [];
    try {
      expect(workers[0].encodedBytes + workers[1].encodedBytes).toBe(whole.encodedBytes);
      expect(workers[1].encodedBytes).toBeLessThan(whole.encodedBytes);
      expect(workers.map((op) => [op.holdsPart(0), op.holdsPart(1)])).toEqual([
        [true, false],
        [false, true],
      ]);
      expect(whole.holdsPart(1)).toBe(true);
      expect(() => workers[0].evaluatePart(inputs, 1, keys, { part: 1, parts: 2 })).toThrow(expect.objectContaining({ code: 'weights_released' }));

      const parts = [0, 1].map((part) => workers[part].evaluatePart(inputs, 1, keys, { part, parts: 2 }));
      const wholeParts = [0, 1].map((part) => whole.evaluatePart(inputs, 1, keys, { part, parts: 2 }));
      owned.push(...parts, ...wholeParts);
      const assembled = workers[0].combineParts(parts, 1, keys).map((ct) => ctx.save(ct));
      const unsplit = whole.combineParts(wholeParts, 1, keys).map((ct) => ctx.save(ct));
      expect(assembled).toEqual(unsplit);
      const [y] = client.decryptVectors(plan, assembled, 1);
      const want = linearReference(w, x);
      for (let i = 0; i < w.dOut; i++) expect(Math.abs(y[i] - want[i])).toBeLessThan(1e-4);
    } finally {
      owned.flat().forEach((ct) => ct.delete());
      inputs.forEach((ct) => ct.delete());
      whole.delete();
      workers.forEach((op) => op.delete());
    }
  });

  it('a tile a worker does not hold is still evaluated right (encoded on use, not kept)', () => {
    const rand = seededRandom(32);
    const w = randomWeights(rand, 2100, 24);
    const plan = planLinear(ctx.preset, 2100, 24);
    const worker1 = new LinearOperator(ctx, plan, w, 'eager', { tiles: [1] });
    const x = randomVector(rand, 24);
    const inputs = client.encryptVectors(plan, [x]).map((b) => ctx.loadCiphertext(b));
    try {
      const [ct] = worker1.evaluate(inputs, 1, keys, undefined, [0]);
      const slots = client.decryptSlots([ctx.save(ct)]);
      ct.delete();
      const want = linearReference(w, x);
      for (let i = 0; i < plan.tileOut; i++) expect(Math.abs(slots[0][i] - want[i])).toBeLessThan(1e-4);
      expect(worker1.heldTiles).toEqual([1]);
    } finally {
      inputs.forEach((ct) => ct.delete());
      worker1.delete();
    }
  });
});
