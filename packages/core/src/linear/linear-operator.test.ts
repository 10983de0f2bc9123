import { describe, expect, it } from 'vitest';
import { LinearOperator } from './linear-operator.ts';
import { planForVectors, planLinear, type LinearPlan } from './plan.ts';
import { outputSlotRows, type LinearWeights } from './layout.ts';
import { linearReference } from './plain-twin.ts';
import { COMMON_SHAPES, randomVector, randomWeights, seededRandom } from './test-helpers.ts';
import { ckksFixture, type CkksFixture } from './test-ckks-fixture.ts';

function runEncrypted(s: CkksFixture, plan: LinearPlan, w: LinearWeights, xs: Float64Array[]) {
  const op = new LinearOperator(s.ctx, plan, w);
  const inputs = s.client.encryptVectors(plan, xs).map((b) => s.ctx.loadCiphertext(b));
  try {
    const stats = { rotations: 0, plainMults: 0 };
    const outs = op.evaluate(inputs, xs.length, s.keysFor(plan), stats);
    const bytes = outs.map((ct) => s.ctx.save(ct));
    outs.forEach((ct) => ct.delete());
    return { ys: s.client.decryptVectors(plan, bytes, xs.length), slots: s.client.decryptSlots(bytes), stats };
  } finally {
    inputs.forEach((ct) => ct.delete());
    op.delete();
  }
}

function maxError(w: LinearWeights, xs: Float64Array[], ys: Float64Array[]): number {
  let worst = 0;
  xs.forEach((x, t) => {
    const want = linearReference(w, x);
    for (let i = 0; i < w.dOut; i++) worst = Math.max(worst, Math.abs(ys[t][i] - want[i]));
  });
  return worst;
}

const SHAPES: [number, number][] = [...COMMON_SHAPES, [2048, 2048]];

// Flat presets trade precision for speed: no rescale, a 54-bit prime holds
// input x weight x output (see operatorScales), so errors are near 1e-4.
describe.each([
  ['ckks-flat-n4096-q109', 1e-3],
  ['ckks-n4096-q109', 1e-4],
  ['ckks-n8192-q218', 1e-6],
])('encrypted y = W x + b under %s', (presetId, tolerance) => {
  const s = ckksFixture(presetId);

  it.each(SHAPES)('%ix%i matches the Float64 reference', (dOut, dIn) => {
    const rand = seededRandom(dOut * 31 + dIn);
    const w = randomWeights(rand, dOut, dIn);
    const xs = [randomVector(rand, dIn)];
    const plan = planLinear(s.ctx.preset, dOut, dIn);
    const { ys, stats } = runEncrypted(s, plan, w, xs);
    expect(maxError(w, xs, ys)).toBeLessThan(tolerance);
    // The evaluator does what the plan costed (zero diagonals may be skipped).
    expect(stats.rotations).toBe(plan.cost.rotations);
    expect(stats.plainMults).toBeLessThanOrEqual(plan.cost.plainMults);
  });

  it('a response reveals W x + b in output slots and zero everywhere else', () => {
    const rand = seededRandom(77);
    const w = randomWeights(rand, 40, 24);
    for (const plan of [planLinear(s.ctx.preset, 40, 24), planLinear(s.ctx.preset, 40, 24, { batch: 4 }), planLinear(s.ctx.preset, 40, 24, { allowPreRotation: false })]) {
      const xs = Array.from({ length: plan.batch === 1 ? 1 : 3 }, () => randomVector(rand, 24));
      const { ys, slots } = runEncrypted(s, plan, w, xs);
      expect(maxError(w, xs, ys)).toBeLessThan(tolerance);
      for (let r = 0; r < plan.outTiles; r++) {
        const rows = outputSlotRows(plan, r, xs.length);
        for (let j = 0; j < plan.slots; j++) {
          const want = rows[j] < 0 ? 0 : ys[Math.floor(rows[j] / w.dOut)][rows[j] % w.dOut];
          expect(Math.abs(slots[r][j] - want)).toBeLessThan(tolerance);
        }
      }
    }
  });

  it('batches a prompt of several vectors into one evaluation', () => {
    const rand = seededRandom(5);
    const w = randomWeights(rand, 64, 128);
    const plan = planForVectors(s.ctx.preset, 64, 128, 5);
    expect(plan.batch).toBeGreaterThanOrEqual(2);
    const xs = Array.from({ length: Math.min(plan.batch, 5) }, () => randomVector(rand, 128));
    expect(maxError(w, xs, runEncrypted(s, plan, w, xs).ys)).toBeLessThan(tolerance);
  });
});

describe('operators larger than one ciphertext', () => {
  const s = ckksFixture('ckks-n4096-q109');
  it('2500 inputs x 3000 outputs spread over several input and output ciphertexts', () => {
    const rand = seededRandom(11);
    const w = randomWeights(rand, 3000, 2500);
    const plan = planLinear(s.ctx.preset, 3000, 2500);
    expect(plan.inTiles).toBeGreaterThan(1);
    expect(plan.outTiles).toBeGreaterThan(1);
    const xs = [randomVector(rand, 2500)];
    expect(maxError(w, xs, runEncrypted(s, plan, w, xs).ys)).toBeLessThan(1e-4);
  });
});

describe('output tiles evaluated separately', () => {
  const s = ckksFixture('insecure-n2048-q109');
  it('any subset of output tiles equals the same tiles of a whole evaluation', () => {
    const rand = seededRandom(21);
    const w = randomWeights(rand, 1500, 40);
    const plan = planLinear(s.ctx.preset, 1500, 40, { parallelism: 3 });
    expect(plan.outTiles).toBeGreaterThan(1);
    const op = new LinearOperator(s.ctx, plan, w);
    const x = randomVector(rand, 40);
    const inputs = s.client.encryptVectors(plan, [x]).map((b) => s.ctx.loadCiphertext(b));
    try {
      const tiles = Array.from({ length: plan.outTiles }, (_, r) => r).reverse();
      const parts = tiles.map((r) => op.evaluate(inputs, 1, s.keysFor(plan), undefined, [r])[0]);
      const ordered = tiles.map((_, i) => parts[tiles.indexOf(i)]);
      const [y] = s.client.decryptVectors(
        plan,
        ordered.map((ct) => s.ctx.save(ct)),
        1,
      );
      parts.forEach((ct) => ct.delete());
      expect(maxError(w, [x], [y])).toBeLessThan(1e-4);
      expect(() => op.evaluate(inputs, 1, s.keysFor(plan), undefined, [plan.outTiles])).toThrowError(expect.objectContaining({ code: 'bad_tile' }));
    } finally {
      inputs.forEach((ct) => ct.delete());
      op.delete();
    }
  });
});

describe('lazy weight encoding', () => {
  const s = ckksFixture('ckks-flat-n4096-q109');
  it('encodes each diagonal on use, holds no plaintexts, and computes exactly what the eager operator does', () => {
    const rand = seededRandom(8);
    const w = randomWeights(rand, 96, 200);
    const plan = planLinear(s.ctx.preset, 96, 200, { bounds: { output: 8 } });
    const eager = new LinearOperator(s.ctx, plan, w);
    const lazy = new LinearOperator(s.ctx, plan, w, 'lazy');
    const x = randomVector(rand, 200);
    const inputs = s.client.encryptVectors(plan, [x]).map((b) => s.ctx.loadCiphertext(b));
    try {
      expect(eager.encodedBytes).toBeGreaterThan(0);
      expect(lazy.encodedBytes).toBe(0);
      const [a, b] = [eager, lazy].map((op) => {
        const outs = op.evaluate(inputs, 1, s.keysFor(plan));
        const bytes = outs.map((ct) => s.ctx.save(ct));
        outs.forEach((ct) => ct.delete());
        return s.client.decryptVectors(plan, bytes, 1)[0];
      });
      // Encoding is deterministic, so both evaluate the same products.
      for (let i = 0; i < 96; i++) expect(b[i]).toBeCloseTo(a[i], 12);
      expect(maxError(w, [x], [b])).toBeLessThan(1e-3);
    } finally {
      inputs.forEach((ct) => ct.delete());
      eager.delete();
      lazy.delete();
    }
  });
});
