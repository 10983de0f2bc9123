import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GaloisKeys } from 'node-seal';
import { CkksClient } from '../client/ckks-client.ts';
import { LinearOperator } from '../linear/linear-operator.ts';
import { evaluatePlanPlain, linearReference } from '../linear/plain-twin.ts';
import { packInput } from '../linear/layout.ts';
import { planLinear } from '../linear/plan.ts';
import { randomVector, randomWeights, seededRandom } from '../linear/test-helpers.ts';
import { CkksContext } from '../seal/ckks-context.ts';
import { heldTiles, isSharded, shardTiles, tileOwner } from './tile-shards.ts';

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
    const workers = [0, 1].map((index) => new LinearOperator(ctx, plan, w, 'eager', heldTiles(plan.outTiles, { index, count: 2 })));
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

  it('a tile a worker does not hold is still evaluated right (encoded on use, not kept)', () => {
    const rand = seededRandom(32);
    const w = randomWeights(rand, 2100, 24);
    const plan = planLinear(ctx.preset, 2100, 24);
    const worker1 = new LinearOperator(ctx, plan, w, 'eager', [1]);
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
