import { describe, expect, it } from 'vitest';
import { CkksClient } from '../client/ckks-client.ts';
import { CkksContext } from '../seal/ckks-context.ts';
import { getPreset, MAX_ROTATED_INPUT_ERROR, operatorScales, presetIds } from '../seal/presets.ts';
import { LinearOperator } from './linear-operator.ts';
import { planLinear } from './plan.ts';
import { linearReference } from './plain-twin.ts';
import { seededRandom } from './test-helpers.ts';

const small = getPreset('ckks-flat-n4096-q109');
const large = getPreset('ckks-flat-n8192-q120');

describe('relay rotation of the client input (Preset.relayRotatesInput)', () => {
  it('is allowed only where one rotation costs at most MAX_ROTATED_INPUT_ERROR at the input scale', () => {
    for (const id of presetIds) {
      const p = getPreset(id);
      if (!p.flat) expect(p.relayRotatesInput).toBe(true);
      else expect(p.relayRotatesInput).toBe((p.noise?.rotation ?? Infinity) / 2 ** p.inputScaleBits <= MAX_ROTATED_INPUT_ERROR);
    }
    expect(small.relayRotatesInput).toBe(false);
    expect(large.relayRotatesInput).toBe(true);
    // Its operators never go below the input scale it was admitted at, whatever their bounds and norms.
    for (const bounds of [{ output: 1 }, { output: 16, inputNorm: 100, rowNorm: 0.1 }, { output: 200, inputNorm: 1, rowNorm: 50 }]) {
      expect(operatorScales(large, bounds).inputScaleBits).toBeGreaterThanOrEqual(large.inputScaleBits);
    }
    expect(() => operatorScales(large, { output: 2 ** 15 })).toThrowError(expect.objectContaining({ code: 'out_of_range' }));
  });

  it('pricing uploads higher makes the planner upload fewer ciphertexts', () => {
    const cheap = planLinear(large, 3072, 3840, { bounds: { output: 16 } });
    const priced = planLinear(large, 3072, 3840, { bounds: { output: 16 }, msPerUploadByte: 5e-4 });
    expect(priced.cost.inputCiphertexts).toBeLessThan(cheap.cost.inputCiphertexts);
    expect(() => planLinear(large, 8, 8, { msPerUploadByte: -1 })).toThrowError(expect.objectContaining({ code: 'bad_cost' }));
  });

  // An activation-like input (norm 40) through rows of norm 3, wider than N=4096's slots: the
  // N=8192 preset uploads one ciphertext per input tile and rotates it on the relay, the N=4096
  // one uploads every shift; their errors against the Float64 twin are of the same size.
  it('at N=8192 keeps an encrypted step as precise as the N=4096 preset that never rotates the input', async () => {
    const [dOut, dIn] = [256, 2560];
    const rand = seededRandom(7);
    const weight = Float64Array.from({ length: dOut * dIn }, () => ((rand() * 2 - 1) * 3 * Math.sqrt(3)) / Math.sqrt(dIn));
    const w = { dOut, dIn, weight };
    const raw = Float64Array.from({ length: dIn }, () => rand() * 2 - 1);
    const x = raw.map((v) => (v * 40) / Math.hypot(...raw));
    const want = linearReference(w, x);
    const output = 1.5 * Math.max(...Array.from(want, Math.abs));
    const bounds = { output, inputNorm: 40, rowNorm: 3 * Math.sqrt(3) };
    // uploads: ciphertexts per input tile (the baby-step shifts when the client makes them).
    const errors: Record<string, { worst: number; uploads: number; rotatesInput: boolean }> = {};
    for (const preset of [small, large]) {
      const ctx = await CkksContext.create(preset.id);
      const client = CkksClient.generate(ctx);
      // Each as 'auto' plans it: uploads priced higher only with the large preset.
      const plan = planLinear(preset, dOut, dIn, { bounds, ...(preset === large ? { msPerUploadByte: 5e-4 } : {}) });
      const keys = ctx.loadGaloisKeys(client.makeGaloisKeys(plan.galoisSteps), plan.galoisSteps.length);
      const op = new LinearOperator(ctx, plan, w);
      const inputs = client.encryptVectors(plan, [x]).map((b) => ctx.loadCiphertext(b));
      try {
        const outs = op.evaluate(inputs, 1, keys);
        const [y] = client.decryptVectors(
          plan,
          outs.map((c) => ctx.save(c)),
          1,
        );
        for (const c of outs) c.delete();
        errors[preset.id] = {
          worst: Math.max(...Array.from(y, (v, i) => Math.abs(v - want[i]))),
          uploads: plan.cost.inputCiphertexts / plan.inTiles,
          rotatesInput: plan.babySteps > 1 && !plan.preRotated,
        };
      } finally {
        for (const c of inputs) c.delete();
        op.delete();
        keys.delete();
        client.delete();
        ctx.delete();
      }
    }
    const [a, b] = [errors[small.id], errors[large.id]];
    expect(a.rotatesInput).toBe(false);
    expect(b.rotatesInput).toBe(true);
    // The N=4096 plan uploads its baby-step shifts or has none (n1 = 1); the N=8192 one uploads each tile once.
    expect(b.uploads).toBe(1);
    expect(a.worst).toBeGreaterThan(0);
    // Measured about 1.2x; the bound leaves room for SEAL's random noise.
    expect(b.worst).toBeLessThan(2 * a.worst);
    expect(b.worst / output).toBeLessThan(1e-4);
  }, 60_000);
});
