import { describe, expect, it } from 'vitest';
import { FLAT_HEADROOM_FACTOR, getPreset, operatorScales, presetIds } from '../seal/presets.ts';
import { MAX_HOISTED_FOLD, MAX_SUMMED_STEP, planForVectors, planLinear, unionGaloisSteps } from './plan.ts';
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

describe('shared key switches (summed giant steps, hoisted folds) and the keys they need', () => {
  const SHAPES: [number, number][] = [
    [7, 5],
    [64, 64],
    [192, 512],
    [408, 128],
    [576, 236],
    [1024, 2048],
    [2048, 2048],
  ];
  const isPow2 = (s: number) => (s & (s - 1)) === 0;

  it('flat plans ask for a key per summed giant step up to MAX_SUMMED_STEP and per hoisted fold of at most MAX_HOISTED_FOLD + 1 blocks', () => {
    const plans = SHAPES.flatMap(([o, i]) => [1, 4].map((vectors) => planForVectors(flat, o, i, vectors)));
    expect(plans.some((p) => p.giantRotations === 'summed')).toBe(true);
    expect(plans.some((p) => p.folds === 'hoisted')).toBe(true);
    for (const p of plans) {
      const fold = p.batch * p.blockSize;
      const expected = new Set<number>();
      if (p.giantRotations === 'summed') {
        expect((p.giantSteps - 1) * p.babySteps).toBeLessThanOrEqual(MAX_SUMMED_STEP);
        for (let g = 1; g < p.giantSteps; g++) expected.add(g * p.babySteps);
      }
      if (p.folds === 'hoisted') {
        expect(p.chunks - 1).toBeLessThanOrEqual(MAX_HOISTED_FOLD);
        for (let m = 1; m < p.chunks; m++) expected.add(m * fold);
      }
      for (const s of expected) expect(p.galoisSteps).toContain(s);
      // Anything else is a power of two (baby steps, Horner chains, doubling folds).
      for (const s of p.galoisSteps) if (!expected.has(s)) expect(isPow2(s)).toBe(true);
    }
    // Beyond the powers of two, a model's keys are summed steps (at most MAX_SUMMED_STEP) and hoisted folds' multiples.
    const folds = plans.filter((p) => p.folds === 'hoisted').map((p) => p.batch * p.blockSize);
    for (const s of unionGaloisSteps(plans).filter((s) => !isPow2(s))) {
      expect(s <= MAX_SUMMED_STEP || folds.some((f) => s % f === 0 && s / f <= MAX_HOISTED_FOLD)).toBe(true);
    }
  });

  it('rescaling presets keep Horner chains and doubling folds (power-of-two keys only)', () => {
    const preset = getPreset('ckks-n4096-q109');
    for (const [o, i] of SHAPES) {
      const p = planLinear(preset, o, i);
      expect(p.giantRotations).toBe('horner');
      expect(p.folds).toBe('doubling');
      for (const s of p.galoisSteps) expect(isPow2(s)).toBe(true);
    }
  });
});
