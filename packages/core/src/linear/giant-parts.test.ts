import { describe, expect, it } from 'vitest';
import type { Ciphertext } from 'node-seal';
import { getPreset } from '../seal/presets.ts';
import { LinearOperator } from './linear-operator.ts';
import { giantPartSteps, planLinear } from './plan.ts';
import { packInput, unpackOutput } from './layout.ts';
import { evaluatePlanPlain, linearReference } from './plain-twin.ts';
import { randomVector, randomWeights, seededRandom } from './test-helpers.ts';
import { ckksFixture } from './test-ckks-fixture.ts';

// stories260K's step shapes (fused attention-out + FFN-in, FFN-out + QKV, the logits) and a square one.
const SHAPES: [number, number][] = [
  [408, 128],
  [192, 236],
  [576, 236],
  [192, 512],
  [256, 256],
];

describe('planning split giant steps', () => {
  it('splits a lone output tile over two workers only when allowed, adding exactly the chain key', () => {
    const preset = getPreset('ckks-flat-n4096-q109');
    let split = 0;
    for (const [dOut, dIn] of SHAPES) {
      const alone = planLinear(preset, dOut, dIn);
      expect(alone.giantParts).toBe(1);
      const shared = planLinear(preset, dOut, dIn, { parallelism: 2 });
      // Two workers share the step: a lone tile's giant steps split, or (where the model finds it cheaper) more output tiles.
      if (shared.outTiles > 1) {
        expect(shared.giantParts, `${dOut}x${dIn}`).toBe(1);
        continue;
      }
      split++;
      expect(shared.giantParts, `${dOut}x${dIn}`).toBe(2);
      expect(shared.galoisSteps).toContain(2 * shared.babySteps);
      // The same rotations in total; about half of them on the longest part.
      if (shared.giantSteps === alone.giantSteps) expect(shared.cost.rotations).toBe(alone.cost.rotations);
      expect(shared.cost.estimatedMs).toBeLessThan(alone.cost.estimatedMs);
    }
    expect(split).toBeGreaterThanOrEqual(SHAPES.length - 1);
  });

  it('shares the giant steps of a large lone tile too (a relay holds its parts apart: server/tile-shards.ts)', () => {
    // GPT-2 small's attention-out + FFN-in step under the large-model preset, as 'auto' plans it: about
    // 100 MB of plaintexts in one output tile, which one worker evaluated alone while the other idled.
    const preset = getPreset('ckks-flat-n8192-q120');
    const alone = planLinear(preset, 3840, 1536, { msPerUploadByte: 5e-4 });
    const shared = planLinear(preset, 3840, 1536, { parallelism: 2, msPerUploadByte: 5e-4 });
    expect(shared.outTiles).toBe(1);
    expect(shared.giantParts).toBe(2);
    expect(shared.cost.plainMults).toBe(alone.cost.plainMults);
  });

  it('gives every giant step to exactly one part', () => {
    const plan = { giantSteps: 13, giantParts: 2 };
    expect(giantPartSteps(plan, 0)).toEqual([0, 2, 4, 6, 8, 10, 12]);
    expect(giantPartSteps(plan, 1)).toEqual([1, 3, 5, 7, 9, 11]);
  });

  it('its Float64 twin equals y = W x + b', () => {
    const rand = seededRandom(11);
    for (const [dOut, dIn] of SHAPES) {
      const plan = planLinear(getPreset('ckks-flat-n4096-q109'), dOut, dIn, { parallelism: 2 });
      const w = randomWeights(rand, dOut, dIn);
      const x = randomVector(rand, dIn);
      const [y] = unpackOutput(plan, evaluatePlanPlain(plan, w, packInput(plan, [x]), 1), 1);
      const want = linearReference(w, x);
      for (let i = 0; i < dOut; i++) expect(y[i]).toBeCloseTo(want[i], 10);
    }
  });
});

describe.each([
  ['ckks-flat-n4096-q109', 1e-3],
  ['ckks-n8192-q218', 1e-6],
])('split giant steps under %s', (presetId, tolerance) => {
  const s = ckksFixture(presetId);

  it('the parts combined decrypt to the unsplit answer and to its Float64 twin, with the same giant-step and fold rotations', () => {
    const rand = seededRandom(5);
    const [dOut, dIn] = presetId.includes('n8192') ? [408, 128] : [192, 236];
    const plan = planLinear(s.ctx.preset, dOut, dIn, { parallelism: 2 });
    expect(plan.giantParts).toBe(2);
    const w = randomWeights(rand, dOut, dIn);
    const x = randomVector(rand, dIn);
    const op = new LinearOperator(s.ctx, plan, w);
    const inputs = s.client.encryptVectors(plan, [x]).map((b) => s.ctx.loadCiphertext(b));
    const partials: Ciphertext[][] = [];
    try {
      const stats = { rotations: 0, plainMults: 0 };
      for (let part = 0; part < plan.giantParts; part++) partials.push(op.evaluatePart(inputs, 1, s.keysFor(plan), { part, parts: plan.giantParts }, stats));
      const combined = op.combineParts(partials, 1, s.keysFor(plan), stats);
      const whole = op.evaluate(inputs, 1, s.keysFor(plan));
      const bytes = [...combined, ...whole].map((ct) => s.ctx.saveCiphertext(ct));
      [...combined, ...whole].forEach((ct) => ct.delete());
      // Every part repeats the relay's baby steps (none when the client uploads them).
      const babyRotations = plan.preRotated ? 0 : plan.inTiles * (plan.babySteps - 1);
      expect(stats.rotations).toBe(plan.cost.rotations + (plan.giantParts - 1) * babyRotations);
      const [split] = s.client.decryptVectors(plan, bytes.slice(0, plan.outTiles), 1);
      const [unsplit] = s.client.decryptVectors(plan, bytes.slice(plan.outTiles), 1);
      const [twin] = unpackOutput(plan, evaluatePlanPlain(plan, w, packInput(plan, [x]), 1), 1);
      for (let i = 0; i < dOut; i++) {
        expect(Math.abs(split[i] - twin[i])).toBeLessThan(tolerance);
        expect(Math.abs(split[i] - unsplit[i])).toBeLessThan(2 * tolerance);
      }
    } finally {
      partials.flat().forEach((ct) => ct.delete());
      inputs.forEach((ct) => ct.delete());
      op.delete();
    }
  });

  it('refuses parts that do not exist and partial sets that do not add up', () => {
    const plan = planLinear(s.ctx.preset, 192, 236, { parallelism: 2 });
    const op = new LinearOperator(s.ctx, plan, randomWeights(seededRandom(2), 192, 236), 'lazy');
    const inputs = s.client.encryptVectors(plan, [new Float64Array(236)]).map((b) => s.ctx.loadCiphertext(b));
    try {
      expect(() => op.evaluatePart(inputs, 1, s.keysFor(plan), { part: 2, parts: 2 })).toThrow(expect.objectContaining({ code: 'bad_part' }));
      expect(() => op.evaluatePart(inputs, 1, s.keysFor(plan), { part: 0, parts: 3 })).toThrow(expect.objectContaining({ code: 'bad_part' }));
      expect(() => op.combineParts([[]], 1, s.keysFor(plan))).toThrow(expect.objectContaining({ code: 'bad_count' }));
    } finally {
      inputs.forEach((ct) => ct.delete());
      op.delete();
    }
  });
});
