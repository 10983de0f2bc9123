import { describe, expect, it } from 'vitest';
import { getPreset } from '../seal/presets.ts';
import { planLinear, planForVectors, unionGaloisSteps, type LinearPlan } from './plan.ts';
import { outputSlotRows, packInput, unpackOutput, type LinearWeights } from './layout.ts';
import { evaluatePlanPlain, linearReference } from './plain-twin.ts';
import { COMMON_SHAPES, randomWeights, randomVector, seededRandom } from './test-helpers.ts';

const preset = getPreset('ckks-n4096-q109');
const SHAPES: [number, number][] = [...COMMON_SHAPES, [192, 512], [408, 128], [576, 236], [2048, 2048], [3000, 2500]];

function checkTwin(plan: LinearPlan, w: LinearWeights, vectors: number, seed: number) {
  const rand = seededRandom(seed);
  const xs = Array.from({ length: vectors }, () => randomVector(rand, w.dIn));
  const slots = evaluatePlanPlain(plan, w, packInput(plan, xs), vectors);
  const ys = unpackOutput(plan, slots, vectors);
  xs.forEach((x, t) => {
    const want = linearReference(w, x);
    for (let i = 0; i < w.dOut; i++) expect(Math.abs(ys[t][i] - want[i])).toBeLessThan(1e-9);
  });
  // Masking: every slot is an output (of some requested vector) or zero.
  for (let r = 0; r < plan.outTiles; r++) {
    const rows = outputSlotRows(plan, r, vectors);
    for (let j = 0; j < plan.slots; j++) {
      const want = rows[j] < 0 ? 0 : ys[Math.floor(rows[j] / w.dOut)][rows[j] % w.dOut];
      expect(Math.abs(slots[r][j] - want)).toBeLessThan(1e-9);
    }
  }
}

describe('linear layouts (Float64 twin)', () => {
  it.each(SHAPES)('%ix%i: the planned layout computes W x + b and reveals nothing else', (dOut, dIn) => {
    const w = randomWeights(seededRandom(dOut * 7919 + dIn), dOut, dIn);
    const plan = planLinear(preset, dOut, dIn);
    checkTwin(plan, w, 1, dOut + dIn);
  });

  it('every packing family and option is correct, not only the chosen one', () => {
    const w = randomWeights(seededRandom(5), 24, 40);
    for (const allowPreRotation of [false, true]) {
      for (const batch of [1, 2, 8]) {
        const plan = planLinear(preset, 24, 40, { batch, allowPreRotation });
        checkTwin(plan, w, batch, batch);
        if (batch > 1) checkTwin(plan, w, batch - 1, batch + 1);
      }
    }
    // Force the cyclic packing and tiling by restricting keys and shapes.
    const cyclic = planLinear(preset, 2048, 2048);
    expect(cyclic.packing).toBe('cyclic');
    const tiled = planLinear(preset, 3000, 2500);
    expect(tiled.inTiles * tiled.outTiles).toBeGreaterThan(1);
  });

  it('uses only power-of-two rotations, so every stories260K operator fits in log2(slots) keys', () => {
    const plans = [
      [192, 512],
      [408, 128],
      [192, 236],
      [576, 236],
    ].map(([o, i]) => planLinear(preset, o, i));
    const steps = unionGaloisSteps(plans);
    for (const s of steps) expect(Math.log2(s) % 1).toBe(0);
    expect(steps.length).toBeLessThanOrEqual(11);
  });

  it('batches several vectors into one ciphertext group when that is cheaper per vector', () => {
    const plan = planForVectors(preset, 64, 64, 8);
    expect(plan.batch).toBeGreaterThan(1);
    const w = randomWeights(seededRandom(9), 64, 64);
    checkTwin(plan, w, plan.batch, 3);
  });

  it('rejects shapes and batches it cannot plan, with a typed error', () => {
    expect(() => planLinear(preset, 0, 4)).toThrowError(expect.objectContaining({ name: 'PlanError', code: 'bad_shape' }));
    expect(() => planLinear(preset, 4, 4, { batch: 3 })).toThrowError(expect.objectContaining({ name: 'PlanError', code: 'bad_batch' }));
    const plan = planLinear(preset, 4, 4);
    expect(() => packInput(plan, [new Float64Array(5)])).toThrowError(expect.objectContaining({ code: 'shape_mismatch' }));
  });
});
