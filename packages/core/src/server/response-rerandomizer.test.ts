import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GaloisKeys } from 'node-seal';
import { CkksContext } from '../seal/ckks-context.ts';
import { CkksClient } from '../client/ckks-client.ts';
import { LinearOperator } from '../linear/linear-operator.ts';
import { planLinear } from '../linear/plan.ts';
import { linearReference } from '../linear/plain-twin.ts';
import { randomVector, randomWeights, seededRandom } from '../linear/test-helpers.ts';
import { maxSealObjectBytes } from '../seal/seal-object-limits.ts';
import { evaluateGroup } from './step-exchange.ts';
import type { ResponsePrivacy } from '../protocol/response-privacy.ts';
import { imaginaryUnitPlaintext, ResponseRerandomizer } from './response-rerandomizer.ts';

const withCode = (code: string) => expect.objectContaining({ code });

function rms(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return Math.sqrt(s / values.length);
}

describe.each(['ckks-flat-n4096-q109', 'ckks-n4096-q109'])('response re-randomization under %s', (presetId) => {
  const s = {} as { ctx: CkksContext; client: CkksClient; keys: GaloisKeys };
  beforeAll(async () => {
    s.ctx = await CkksContext.create(presetId);
    s.client = CkksClient.generate(s.ctx);
    // Every product here is 24x40: its plan's steps (summed giant steps need a key per step).
    const steps = planLinear(s.ctx.preset, 24, 40).galoisSteps;
    s.keys = s.ctx.loadGaloisKeys(s.client.makeGaloisKeys(steps), steps.length);
  });
  afterAll(() => {
    s.keys.delete();
    s.client.delete();
    s.ctx.delete();
  });

  /** Evaluate one 24x40 product twice on the same request, with the given privacy (or none). */
  function twice(privacy?: ResponsePrivacy) {
    const rand = seededRandom(41);
    const w = randomWeights(rand, 24, 40);
    const x = randomVector(rand, 40);
    const plan = planLinear(s.ctx.preset, 24, 40);
    const op = new LinearOperator(s.ctx, plan, w);
    const rr = privacy ? ResponseRerandomizer.fromBytes(s.ctx, s.client.makePublicKey(), privacy) : undefined;
    const items = s.client.encryptVectors(plan, [x]);
    try {
      const runs = [0, 1].map(() => evaluateGroup(op, s.keys, { vectors: 1, items }, undefined, rr));
      const want = linearReference(w, x);
      const errors = runs.map((bytes) => {
        const [y] = s.client.decryptVectors(plan, bytes, 1);
        return Math.max(...Array.from(want, (v, i) => Math.abs(y[i] - v)));
      });
      return { runs, errors, plan };
    } finally {
      rr?.delete();
      op.delete();
    }
  }

  it('without it a response is a deterministic function of the request; with it two answers differ and both decrypt like the Float64 twin', () => {
    const plain = twice();
    expect(plain.runs[0]).toEqual(plain.runs[1]);
    const fresh = twice({ mode: 'rerandomize' });
    expect(fresh.runs[0][0]).not.toEqual(fresh.runs[1][0]);
    expect(fresh.runs[0][0]).not.toEqual(plain.runs[0][0]);
    for (const error of [...plain.errors, ...fresh.errors]) expect(error).toBeLessThan(1e-3);
  });

  it('spares made ahead are used once each, then it encrypts on the spot, with the same answers', () => {
    const rand = seededRandom(43);
    const w = randomWeights(rand, 24, 40);
    const x = randomVector(rand, 40);
    const plan = planLinear(s.ctx.preset, 24, 40);
    const op = new LinearOperator(s.ctx, plan, w);
    const rr = ResponseRerandomizer.fromBytes(s.ctx, s.client.makePublicKey(), { mode: 'rerandomize' });
    const items = s.client.encryptVectors(plan, [x]);
    try {
      while (rr.makeSpare(2));
      expect(rr.spares).toBe(2);
      const runs = [0, 1, 2].map(() => evaluateGroup(op, s.keys, { vectors: 1, items }, undefined, rr)[0]);
      expect(rr.spares).toBe(0);
      expect(new Set(runs.map((b) => Buffer.from(b).toString('base64'))).size).toBe(3);
      const want = linearReference(w, x);
      for (const bytes of runs) {
        const [y] = s.client.decryptVectors(plan, [bytes], 1);
        for (let i = 0; i < want.length; i++) expect(Math.abs(y[i] - want[i])).toBeLessThan(1e-3);
      }
      rr.makeSpare(4);
      rr.dropSpares();
      expect(rr.spares).toBe(0);
    } finally {
      rr.delete();
      op.delete();
    }
    expect(rr.makeSpare(4)).toBe(false);
  });

  it('X^(N/2) built from the NTT layout multiplies every slot by i', () => {
    const z = Float64Array.from({ length: s.ctx.preset.slots }, (_, i) => Math.sin(i) * 3);
    const pt = s.ctx.encode(z, 2 ** 25);
    const template = s.ctx.encode(new Float64Array(s.ctx.preset.slots), 1);
    const unit = imaginaryUnitPlaintext(s.ctx, template);
    const plan = planLinear(s.ctx.preset, 1, 1);
    const [bytes] = s.client.encryptVectors(plan, [[0]]);
    const ct = s.ctx.loadCiphertext(bytes);
    const rr = ResponseRerandomizer.fromBytes(s.ctx, s.client.makePublicKey(), { mode: 'rerandomize' });
    try {
      // An encryption of z: the client's encryption of 0 at z's scale plus z.
      ct.setScale(pt.scale());
      s.ctx.evaluator.addPlainInplace(ct, pt);
      rr.apply(ct);
      s.ctx.evaluator.multiplyPlainInplace(ct, unit);
      // Real part of i·z is 0; of i·i·z it is -z (a wrong root or order would decrypt to garbage).
      expect(Math.max(...s.client.decryptSlots([s.ctx.save(ct)])[0].map(Math.abs))).toBeLessThan(1e-3);
      s.ctx.evaluator.multiplyPlainInplace(ct, unit);
      const back = s.client.decryptSlots([s.ctx.save(ct)])[0];
      expect(Math.max(...back.map((v, i) => Math.abs(v + z[i])))).toBeLessThan(1e-3);
    } finally {
      rr.delete();
      ct.delete();
      unit.delete();
      template.delete();
      pt.delete();
    }
  });

  it('flooding adds Gaussian noise of the configured deviation to the real and the imaginary part of every slot', () => {
    const sigma = 0.01;
    const plan = planLinear(s.ctx.preset, 1, 1);
    const [bytes] = s.client.encryptVectors(plan, [[0]]);
    const rr = ResponseRerandomizer.fromBytes(s.ctx, s.client.makePublicKey(), { mode: 'flood', floodSigma: sigma });
    const template = s.ctx.encode(new Float64Array(s.ctx.preset.slots), 1);
    const unit = imaginaryUnitPlaintext(s.ctx, template);
    const ct = s.ctx.loadCiphertext(bytes);
    try {
      ct.setScale(2 ** 40);
      rr.apply(ct);
      const real = s.client.decryptSlots([s.ctx.save(ct)])[0];
      s.ctx.evaluator.multiplyPlainInplace(ct, unit);
      const imaginary = s.client.decryptSlots([s.ctx.save(ct)])[0];
      // 2,048 samples each: the sample deviation is within a few percent of sigma.
      expect(rms(real) / sigma).toBeGreaterThan(0.9);
      expect(rms(real) / sigma).toBeLessThan(1.1);
      expect(rms(imaginary) / sigma).toBeGreaterThan(0.9);
      expect(rms(imaginary) / sigma).toBeLessThan(1.1);
    } finally {
      ct.delete();
      unit.delete();
      template.delete();
      rr.delete();
    }
  });

  it('flooding error on a product grows with the configured deviation', () => {
    const errors = [1e-3, 1e-2, 1e-1].map((floodSigma) => twice({ mode: 'flood', floodSigma }).errors[0] / floodSigma);
    // Max over 24 outputs of |N(0, sigma²)| (plus evaluation error, negligible here): between 0.3 and 5 sigma.
    for (const ratio of errors) {
      expect(ratio).toBeGreaterThan(0.3);
      expect(ratio).toBeLessThan(5);
    }
  });

  it('refuses a public key that is oversized, garbage or for another preset, with typed errors', async () => {
    const max = maxSealObjectBytes(s.ctx.preset, { kind: 'publicKey' });
    const good = s.client.makePublicKey();
    const big = new Uint8Array(max + 1);
    big.set(good.subarray(0, 16));
    new DataView(big.buffer).setUint8(5, 0);
    new DataView(big.buffer).setBigUint64(8, BigInt(big.length), true);
    expect(() => s.ctx.loadPublicKey(big)).toThrowError(withCode('seal_object_too_large'));
    expect(() => s.ctx.loadPublicKey(new Uint8Array(100).fill(7))).toThrowError(withCode('bad_seal_header'));
    const other = await CkksContext.create(presetId === 'ckks-flat-n4096-q109' ? 'ckks-n4096-q109' : 'ckks-flat-n4096-q109');
    const foreign = CkksClient.generate(other);
    try {
      expect(() => s.ctx.loadPublicKey(foreign.makePublicKey())).toThrowError(expect.objectContaining({ name: expect.stringMatching(/SealError|WireFormatError/) }));
    } finally {
      foreign.delete();
      other.delete();
    }
    // A Galois-key blob is not a public key either.
    expect(() => s.ctx.loadPublicKey(s.client.makeGaloisKeys([1]))).toThrowError();
    s.ctx.loadPublicKey(good).delete();
  });
});
