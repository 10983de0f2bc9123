import type { Ciphertext, Encryptor, GaloisKeys } from 'node-seal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleKernel } from '../../../../scripts/wasm-assemble.ts';
import { ckksFixture, type CkksFixture } from '../linear/test-ckks-fixture.ts';
import { minimalPrimitiveRoot, modPow, nttTables } from './ntt-tables.ts';
import { ROTATION_SUM_WASM_BASE64 } from './rotation-sum-wasm.ts';

it('the committed kernel is rotation-sum.wat assembled (node scripts/build-wasm.ts)', async () => {
  expect(Buffer.from(await assembleKernel('rotation-sum')).toString('base64')).toBe(ROTATION_SUM_WASM_BASE64);
});

it('NTT tables use the minimal primitive 2n-th root, as SEAL does', () => {
  // 12289 = 3·2^12 + 1: small enough to check every candidate.
  const prime = 12289n;
  const n = 1024;
  const psi = minimalPrimitiveRoot(prime, n);
  for (let x = 2n; x < psi; x++) expect(modPow(x, BigInt(n), prime) === prime - 1n && modPow(x, 2n * BigInt(n), prime) === 1n).toBe(false);
  expect(modPow(psi, BigInt(n), prime)).toBe(prime - 1n);
  const t = nttTables(prime, n);
  expect(t.roots[0]).toBe(1n);
  expect(t.roots[n / 2]).toBe(psi); // bitrev(1) = n/2
  for (let i = 0; i < n; i++) expect((t.roots[i] * t.inverseRoots[i]) % prime).toBe(1n);
});

/**
 * `ours` decrypts to `want` within 4e-3, and its error's rms is within 4x of
 * what `rotations` key switches and `ciphertexts` fresh encryptions add at
 * scale 2^30 (Preset.noise, measured by bench:linear); so is SEAL's own
 * computation `seal`. The noise of one key set is a fixed draw: the ratio of
 * the kernel's rms to SEAL's varied from 0.55 to 2.3 between key sets, so the
 * two are not compared with each other. Without measured noise (rescaling
 * presets, where the sum is SEAL's own) they are.
 */
function expectAsPreciseAsSeal(f: CkksFixture, ours: Ciphertext, seal: Ciphertext, want: Float64Array, rotations: number, ciphertexts: number): void {
  const [got, sealGot] = f.client.decryptSlots([f.ctx.saveCiphertext(ours), f.ctx.saveCiphertext(seal)]);
  expect(Math.max(...Array.from(want, (w, s) => Math.abs(got[s] - w)))).toBeLessThan(4e-3);
  const noise = f.ctx.preset.noise;
  if (!noise) {
    expect(rmsError(got, want)).toBeLessThan(1.01 * rmsError(sealGot, want));
    return;
  }
  const bound = (4 * Math.sqrt(rotations * noise.rotation ** 2 + ciphertexts * noise.encryption ** 2)) / 2 ** 30;
  expect(rmsError(got, want)).toBeLessThan(bound);
  expect(rmsError(sealGot, want)).toBeLessThan(bound);
}

/** Root mean square of got - want over want's slots. */
function rmsError(got: Float64Array, want: Float64Array): number {
  let sum = 0;
  for (let s = 0; s < want.length; s++) sum += (got[s] - want[s]) ** 2;
  return Math.sqrt(sum / want.length);
}

/** Rotate each ciphertext by its step in Float64: slot s of rot(v, k) is v[s + k]. */
function rotatedSum(values: readonly Float64Array[], steps: readonly number[]): Float64Array {
  const slots = values[0].length;
  const out = new Float64Array(slots);
  values.forEach((v, i) => {
    for (let s = 0; s < slots; s++) out[s] += v[(s + steps[i]) % slots];
  });
  return out;
}

for (const presetId of ['ckks-flat-n4096-q109', 'ckks-flat-n8192-q120', 'ckks-n4096-q109']) {
  const flat = presetId.startsWith('ckks-flat');
  describe(`sum of rotations, ${presetId}`, () => {
    const f = ckksFixture(presetId);
    const xs: Ciphertext[] = [];
    const values: Float64Array[] = [];
    const steps = [1, 3, 6, 12, 40];
    let encryptor: Encryptor;
    let keys: GaloisKeys;

    beforeAll(() => {
      const { ctx, client } = f;
      const pk = ctx.loadPublicKey(client.makePublicKey());
      encryptor = new ctx.seal.Encryptor(ctx.context, pk);
      pk.delete();
      keys = ctx.loadGaloisKeys(client.makeGaloisKeys(steps), steps.length);
      for (let i = 0; i < steps.length; i++) {
        const v = Float64Array.from({ length: ctx.preset.slots }, (_, s) => Math.sin(0.37 * s + i) * (i + 1));
        const pt = ctx.encode(v, 2 ** 30);
        const ct = new ctx.seal.Ciphertext();
        encryptor.encrypt(pt, ct);
        pt.delete();
        xs.push(ct);
        values.push(v);
      }
    });
    afterAll(() => {
      for (const x of xs) x.delete();
      keys?.delete();
      encryptor?.delete();
    });

    it(`one rotation is ${flat ? "byte-identical to SEAL's (the kernel runs)" : "SEAL's own"}`, () => {
      const { ctx } = f;
      const before = { ...ctx.rotations };
      const mine = ctx.sumRotations([[xs[0], 12]], keys);
      const theirs = new ctx.seal.Ciphertext();
      try {
        ctx.evaluator.rotateVector(xs[0], 12, keys, theirs);
        expect(Buffer.from(ctx.saveCiphertext(mine)).equals(Buffer.from(ctx.saveCiphertext(theirs)))).toBe(true);
        expect(ctx.rotations.kernel - before.kernel).toBe(flat ? 1 : 0);
        expect(ctx.rotations.seal - before.seal).toBe(flat ? 0 : 1);
      } finally {
        mine.delete();
        theirs.delete();
      }
    });

    it(`rotations of one ciphertext, hoisted, ${flat ? 'decrypt to the Float64 sum as precisely as SEAL rotating each' : 'are left to SEAL (null)'}`, () => {
      const { ctx } = f;
      const rotations = [1, 3, 6, 12];
      const before = { ...ctx.rotations };
      const sum = ctx.hoistedRotations(xs[1], rotations, keys);
      if (!flat) {
        expect(sum).toBeNull();
        return;
      }
      if (!sum) throw new Error('the kernel did not run');
      const sealSum = xs[1].copy();
      const tmp = new ctx.seal.Ciphertext();
      try {
        expect(ctx.rotations.kernel - before.kernel).toBe(rotations.length);
        for (const s of rotations) {
          ctx.evaluator.rotateVector(xs[1], s, keys, tmp);
          ctx.evaluator.addInplace(sealSum, tmp);
        }
        const want = rotatedSum([values[1], ...rotations.map(() => values[1])], [0, ...rotations]);
        // Four key switches; x's fresh noise in each of the five terms.
        expectAsPreciseAsSeal(f, sum, sealSum, want, rotations.length, rotations.length + 1);
      } finally {
        sum.delete();
        sealSum.delete();
        tmp.delete();
      }
    });

    it('a sum of rotations (and an unrotated term) decrypts to the Float64 sum, as SEAL rotating each term does', () => {
      const { ctx } = f;
      const terms = xs.map((x, i) => [x, i === 2 ? 0 : steps[i]] as const);
      const want = rotatedSum(
        values,
        terms.map(([, s]) => s),
      );
      const before = { ...ctx.rotations };
      const sum = ctx.sumRotations(terms, keys);
      const sealSum = xs[0].copy();
      const tmp = new ctx.seal.Ciphertext();
      try {
        expect(ctx.rotations.kernel - before.kernel).toBe(flat ? 4 : 0);
        ctx.evaluator.rotateVectorInplace(sealSum, terms[0][1], keys);
        for (const [x, s] of terms.slice(1)) {
          if (s === 0) ctx.evaluator.addInplace(sealSum, x);
          else {
            ctx.evaluator.rotateVector(x, s, keys, tmp);
            ctx.evaluator.addInplace(sealSum, tmp);
          }
        }
        expectAsPreciseAsSeal(f, sum, sealSum, want, 4, terms.length);
      } finally {
        sum.delete();
        sealSum.delete();
        tmp.delete();
      }
    });
  });
}
