import type { Ciphertext, Encryptor, Plaintext } from 'node-seal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleKernel } from '../../../../scripts/wasm-assemble.ts';
import { ckksFixture } from '../linear/test-ckks-fixture.ts';
import { CkksContext } from './ckks-context.ts';
import { PlainMac, type PlainProduct } from './plain-mac.ts';
import { PLAIN_MAC_WASM_BASE64 } from './plain-mac-wasm.ts';
import { sealMemory } from './seal-memory.ts';

it('the committed kernel is plain-mac.wat assembled (node scripts/build-wasm.ts)', async () => {
  expect(Buffer.from(await assembleKernel('plain-mac')).toString('base64')).toBe(PLAIN_MAC_WASM_BASE64);
});

/**
 * The kernel against SEAL's own chain of products and additions (byte for
 * byte: both are exact mod q) and against the Float64 sum of products.
 */
/** Each preset with another whose plaintexts have as many coefficients (N x top-level primes: 8,192). */
const LOOKALIKE: Record<string, string> = { 'ckks-flat-n8192-q120': 'ckks-n4096-q109', 'ckks-n4096-q109': 'ckks-flat-n8192-q120' };

for (const presetId of Object.keys(LOOKALIKE)) {
  describe(`sum of plaintext products, ${presetId}`, () => {
    const f = ckksFixture(presetId);
    const xs: Ciphertext[] = [];
    const ws: Plaintext[] = [];
    const xValues: Float64Array[] = [];
    const wValues: Float64Array[] = [];
    let encryptor: Encryptor;

    beforeAll(() => {
      const { ctx, client } = f;
      const pk = ctx.loadPublicKey(client.makePublicKey());
      encryptor = new ctx.seal.Encryptor(ctx.context, pk);
      pk.delete();
      const slots = ctx.preset.slots;
      for (let i = 0; i < 5; i++) {
        const x = Float64Array.from({ length: slots }, (_, s) => Math.sin(0.37 * s + i));
        const pt = ctx.encode(x, 2 ** ctx.preset.inputScaleBits);
        const ct = new ctx.seal.Ciphertext();
        encryptor.encrypt(pt, ct);
        pt.delete();
        xs.push(ct);
        xValues.push(x);
      }
      for (let i = 0; i < 7; i++) {
        const w = Float64Array.from({ length: slots }, (_, s) => Math.cos(0.11 * s * (i + 1)) / 4);
        ws.push(ctx.encode(w, 2 ** ctx.preset.weightScaleBits));
        wValues.push(w);
      }
    });
    afterAll(() => {
      for (const o of [...xs, ...ws]) o.delete();
      encryptor?.delete();
    });

    /** `count` terms cycling through the ciphertexts and plaintexts. */
    const terms = (count: number): PlainProduct[] => Array.from({ length: count }, (_, i) => [xs[i % xs.length], ws[(i * 3) % ws.length]] as const);

    function sealChain(list: readonly PlainProduct[]): Uint8Array {
      const { ctx } = f;
      const out = new ctx.seal.Ciphertext();
      const tmp = new ctx.seal.Ciphertext();
      try {
        ctx.evaluator.multiplyPlain(list[0][0], list[0][1], out);
        for (const [x, w] of list.slice(1)) {
          ctx.evaluator.multiplyPlain(x, w, tmp);
          ctx.evaluator.addInplace(out, tmp);
        }
        return ctx.saveCiphertext(out);
      } finally {
        tmp.delete();
        out.delete();
      }
    }

    function summed(list: readonly PlainProduct[]): Uint8Array {
      const out = new f.ctx.seal.Ciphertext();
      try {
        f.ctx.sumPlainProducts(list, out);
        return f.ctx.saveCiphertext(out);
      } finally {
        out.delete();
      }
    }

    it('runs in Node: SEAL was loaded with its memory reachable', () => {
      expect(sealMemory(f.ctx.seal)).toBeInstanceOf(WebAssembly.Memory);
    });

    it('the kernel takes terms of one shape and refuses others (which then go through SEAL)', async () => {
      const { ctx } = f;
      const mac = PlainMac.create(ctx);
      expect(mac).not.toBeNull();
      const out = new ctx.seal.Ciphertext();
      const odd = ctx.encode(wValues[0], 2 ** (ctx.preset.weightScaleBits + 1));
      // A product scale SEAL refuses ("scale out of bounds"): as many bits as the top-level modulus.
      const modulusBits = ctx.preset.dataPrimeBits.reduce((a, b) => a + b, 0);
      const huge = ctx.encode(wValues[0], 2 ** (modulusBits - ctx.preset.inputScaleBits));
      try {
        expect(mac?.writeProducts(terms(4), out)).toBe(true);
        expect(mac?.active).toBe(true);
        expect(Buffer.from(ctx.saveCiphertext(out)).equals(Buffer.from(sealChain(terms(4))))).toBe(true);
        expect(out.scale()).toBe(xs[0].scale() * ws[0].scale());
        const before = ctx.saveCiphertext(out);
        expect(mac?.writeProducts([...terms(2), [xs[1], odd]], out)).toBe(false);
        expect(mac?.writeProducts([[xs[0], odd], ...terms(2)], out)).toBe(false);
        expect(mac?.writeProducts([...terms(2), [out, ws[0]]], out)).toBe(false);
        expect(mac?.writeProducts([[xs[0], huge]], out)).toBe(false);
        expect(mac?.writeProducts([], out)).toBe(false);
        // Refused sums leave the output as it was.
        expect(Buffer.from(ctx.saveCiphertext(out)).equals(Buffer.from(before))).toBe(true);
        expect(() => ctx.evaluator.multiplyPlain(xs[0], huge, out)).toThrow();
        // Same size, other parameters: only the parms_id tells them apart (as another term, and as the first term's plaintext).
        const other = await CkksContext.create(LOOKALIKE[presetId]);
        const foreign = other.encode(new Float64Array(other.preset.slots).fill(0.25), 2 ** ctx.preset.weightScaleBits);
        try {
          expect(foreign.coeffCount()).toBe(ws[0].coeffCount());
          expect(mac?.writeProducts([...terms(1), [xs[1], foreign]], out)).toBe(false);
          expect(mac?.writeProducts([[xs[1], foreign]], out)).toBe(false);
        } finally {
          foreign.delete();
          other.delete();
        }
      } finally {
        huge.delete();
        odd.delete();
        out.delete();
        mac?.delete();
      }
    });

    it.each([1, 2, 9, 40])('%i terms: byte-identical to SEAL, and the Float64 sum of products', (count) => {
      const list = terms(count);
      const bytes = summed(list);
      expect(Buffer.from(bytes).equals(Buffer.from(sealChain(list)))).toBe(true);
      const [slots] = f.client.decryptSlots([bytes]);
      let maxError = 0;
      for (let s = 0; s < slots.length; s++) {
        let twin = 0;
        for (let i = 0; i < count; i++) twin += xValues[i % xs.length][s] * wValues[(i * 3) % ws.length][s];
        maxError = Math.max(maxError, Math.abs(slots[s] - twin));
      }
      expect(maxError).toBeLessThan(1e-3 * count);
    });

    it('more terms than one kernel call takes (chained through the output) still match SEAL', () => {
      const list = terms(300);
      expect(Buffer.from(summed(list)).equals(Buffer.from(sealChain(list)))).toBe(true);
    });

    it('a term at another scale goes through SEAL instead (which refuses to add it)', () => {
      const { ctx } = f;
      const odd = ctx.encode(wValues[0], 2 ** (ctx.preset.weightScaleBits + 1));
      const out = new ctx.seal.Ciphertext();
      try {
        expect(() => ctx.sumPlainProducts([...terms(3), [xs[0], odd]], out)).toThrow(/scale/);
      } finally {
        out.delete();
        odd.delete();
      }
    });
  });
}
