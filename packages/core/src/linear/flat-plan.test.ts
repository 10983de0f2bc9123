import { describe, expect, it } from 'vitest';
import { FLAT_HEADROOM_FACTOR, getPreset, operatorScales, presetIds } from '../seal/presets.ts';
import { planForVectors, planLinear } from './plan.ts';
import { evaluatePlanPlain, linearReference } from './plain-twin.ts';
import { packInput, unpackOutput } from './layout.ts';
import { randomVector, randomWeights, seededRandom } from './test-helpers.ts';

const flat = getPreset('ckks-flat-n4096-q109');

describe('flat presets (one data prime, no rescale)', () => {
  it('are the default kind: one data prime under a special prime at least as large', () => {
    expect(flat.flat).toBe(true);
    expect(flat.dataPrimeBits).toEqual([54]);
    expect(flat.coeffModulusBits[1]).toBeGreaterThanOrEqual(flat.coeffModulusBits[0]);
    expect(presetIds[0]).toBe('ckks-flat-n4096-q109');
    expect(getPreset('ckks-n4096-q109').flat).toBe(false);
  });

  it('pick per-operator scales whose product times the headroom factor fits the prime', () => {
    for (const output of [0.01, 1, 11, 64, 1000]) {
      const s = operatorScales(flat, { output });
      expect(2 ** (s.inputScaleBits + s.weightScaleBits) * FLAT_HEADROOM_FACTOR * output).toBeLessThan(2 ** 53);
      expect(s.inputScaleBits + s.weightScaleBits).toBeGreaterThanOrEqual(36);
    }
    // Larger outputs leave less scale: monotone.
    const bits = [1, 16, 256].map((output) => {
      const s = operatorScales(flat, { output });
      return s.inputScaleBits + s.weightScaleBits;
    });
    expect(bits[0]).toBeGreaterThan(bits[1]);
    expect(bits[1]).toBeGreaterThan(bits[2]);
  });

  it('give a one-hot input (small |x|, large |W row|) more input scale than a long activation', () => {
    const oneHot = operatorScales(flat, { output: 8, inputNorm: 1, rowNorm: 90 });
    const activation = operatorScales(flat, { output: 8, inputNorm: 30, rowNorm: 1.5 });
    expect(oneHot.inputScaleBits + oneHot.weightScaleBits).toBe(activation.inputScaleBits + activation.weightScaleBits);
    expect(oneHot.inputScaleBits).toBeGreaterThan(activation.inputScaleBits + 4);
  });

  it('refuse outputs too large for useful precision, with a typed error', () => {
    expect(() => operatorScales(flat, { output: 1e6 })).toThrowError(expect.objectContaining({ name: 'PresetError', code: 'out_of_range' }));
    expect(() => operatorScales(flat, { output: Number.NaN })).toThrowError(expect.objectContaining({ code: 'out_of_range' }));
    // Rescaling presets check their fixed headroom instead.
    const q109 = getPreset('ckks-n4096-q109');
    expect(operatorScales(q109, { output: 64 })).toEqual({ inputScaleBits: q109.inputScaleBits, weightScaleBits: q109.weightScaleBits });
    expect(() => operatorScales(q109, { output: q109.outputHeadroom * 2 })).toThrowError(expect.objectContaining({ code: 'out_of_range' }));
  });

  it('never have the relay rotate the client input: baby steps are uploaded or there are none', () => {
    for (const [dOut, dIn] of [
      [192, 512],
      [408, 128],
      [192, 236],
      [576, 236],
      [64, 128],
      [2048, 2048],
      [3000, 2500],
    ]) {
      for (const vectors of [1, 2, 4, 8]) {
        const plan = planForVectors(flat, dOut, dIn, vectors);
        expect(plan.babySteps === 1 || plan.preRotated, `${dOut}x${dIn}x${vectors}`).toBe(true);
      }
      const withoutUploads = planLinear(flat, dOut, dIn, { allowPreRotation: false });
      expect(withoutUploads.babySteps).toBe(1);
    }
  });

  it('plans carry their scales, and the Float64 twin of every flat plan is exact', () => {
    const rand = seededRandom(3);
    for (const [dOut, dIn] of [
      [40, 24],
      [192, 236],
      [100, 700],
    ]) {
      const w = randomWeights(rand, dOut, dIn);
      const x = randomVector(rand, dIn);
      const plan = planLinear(flat, dOut, dIn, { bounds: { output: 4 } });
      expect(plan.inputScaleBits + plan.weightScaleBits).toBe(54 - 2 - Math.log2(FLAT_HEADROOM_FACTOR * 4));
      const [y] = unpackOutput(plan, evaluatePlanPlain(plan, w, packInput(plan, [x]), 1), 1);
      const want = linearReference(w, x);
      for (let i = 0; i < dOut; i++) expect(y[i]).toBeCloseTo(want[i], 10);
    }
  });
});
