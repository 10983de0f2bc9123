import { describe, expect, it } from 'vitest';
import { loadSeal } from './load-seal.ts';
import { createSealContext, getPreset, presetIds } from './presets.ts';

describe('CKKS presets', () => {
  it('every preset not named insecure-... is accepted by SEAL at 128-bit security', async () => {
    const seal = await loadSeal();
    for (const id of presetIds) {
      const preset = getPreset(id);
      const total = preset.coeffModulusBits.reduce((a, b) => a + b, 0);
      if (id.startsWith('insecure-')) {
        expect(total).toBeGreaterThan(seal.CoeffModulus.MaxBitCount(preset.polyModulusDegree, seal.SecLevelType.tc128));
        continue;
      }
      expect(preset.securityLevel).toBe(128);
      expect(total).toBeLessThanOrEqual(seal.CoeffModulus.MaxBitCount(preset.polyModulusDegree, seal.SecLevelType.tc128));
      const ctx = createSealContext(seal, preset);
      const data = ctx.keyContextData();
      expect(data.qualifiers().securityLevel.value).toBe(128);
      data.delete();
      ctx.delete();
    }
  });

  it('names say the degree and modulus bits', () => {
    for (const id of presetIds) {
      const p = getPreset(id);
      const total = p.coeffModulusBits.reduce((a, b) => a + b, 0);
      expect(id).toMatch(new RegExp(`n${p.polyModulusDegree}-q${total}$`));
    }
  });

  it('unknown presets raise a typed error listing the known ones', () => {
    expect(() => getPreset('ckks-n1-q1')).toThrowError(expect.objectContaining({ name: 'PresetError', code: 'unknown_preset', expected: presetIds }));
  });

  it('loads SEAL once per realm', async () => {
    expect(await loadSeal()).toBe(await loadSeal());
  });
});
