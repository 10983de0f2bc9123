// npm run bench:linear [-- --quick] [-- --preset ID ...]
// One JSON object per line: a primitive-cost line per preset, then one line
// per (preset, shape) with the plan's counts, sizes, timings and error, and a
// line with the Galois-key size for every stories260K operator.
import { CkksContext, LinearOperator, linearReference, planLinear, unionGaloisSteps } from '../src/index.ts';
import { CkksClient } from '../src/client/index.ts';
import { COMMON_SHAPES, randomVector, randomWeights, seededRandom } from '../src/linear/test-helpers.ts';
import { median, timeMedian } from './machine-speed.ts';

const quick = process.argv.includes('--quick');
const SHAPES: [number, number][] = [...COMMON_SHAPES, [192, 512], [408, 128], [192, 236], [576, 236], [2048, 2048]];
if (!quick) SHAPES.push([4096, 4096]);
const STORIES_260K: [number, number][] = [
  [192, 512],
  [408, 128],
  [192, 236],
  [576, 236],
];
const presetArgs = process.argv.flatMap((a, i, all) => (all[i - 1] === '--preset' ? [a] : []));
const PRESETS = presetArgs.length ? presetArgs : ['ckks-flat-n4096-q109', 'ckks-flat-n8192-q120', 'ckks-n4096-q109', 'ckks-n8192-q218'];

const time = timeMedian;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/**
 * Noise per slot, rms in units of the scale (Preset.noise): a fresh
 * encryption, the rounding of an encoded plaintext, and what one rotation
 * adds (its largest value too), over 4 encryptions of a random full vector
 * at the preset's input scale, each rotated by 1, 64 and 1024.
 */
function noiseOf(ctx: CkksContext, client: CkksClient, keys: ReturnType<CkksContext['loadGaloisKeys']>) {
  const slots = ctx.preset.slots;
  const scale = 2 ** ctx.preset.inputScaleBits;
  const rand = seededRandom(5);
  const x = Float64Array.from({ length: slots }, () => rand() * 2 - 1);
  const rms = (e: number[]) => Math.sqrt(e.reduce((s, v) => s + v * v, 0) / e.length);
  const fresh: number[] = [];
  const rotated: number[] = [];
  let rotationMax = 0;
  // A cyclic plan as wide as the slots: the client packs x as is.
  const plan = planLinear(ctx.preset, 1, slots, { allowPreRotation: false });
  const wide = {
    ...plan,
    packing: 'cyclic' as const,
    tileIn: slots,
    inTiles: 1,
    blockSize: slots,
    chunks: 1,
    batch: 1,
    diagonals: 1,
    babySteps: 1,
    preRotated: false,
    inputScaleBits: ctx.preset.inputScaleBits,
  };
  for (let trial = 0; trial < 4; trial++) {
    const ct = ctx.loadCiphertext(client.encryptVectors(wide, [x])[0]);
    const [y] = client.decryptSlots([ctx.save(ct)]);
    fresh.push(rms(Array.from(y, (v, i) => (v - x[i]) * scale)));
    for (const step of [1, 64, 1024]) {
      const r = new ctx.seal.Ciphertext();
      ctx.evaluator.rotateVector(ct, step, keys, r);
      const [z] = client.decryptSlots([ctx.save(r)]);
      r.delete();
      const e = Array.from(z, (v, i) => (v - y[(i + step) % slots]) * scale);
      rotated.push(rms(e));
      rotationMax = Math.max(rotationMax, ...e.map(Math.abs));
    }
    ct.delete();
  }
  const pt = ctx.encode(x, 2 ** 23);
  const decoded = Float64Array.from(ctx.encoder.decodeFloat64(pt) as ArrayLike<number>);
  pt.delete();
  return {
    noise_encryption: round(median(fresh), 0),
    noise_encoding: round(rms(Array.from(decoded, (v, i) => (v - x[i]) * 2 ** 23)), 1),
    noise_rotation: round(median(rotated), 0),
    noise_rotation_max: round(rotationMax, 0),
  };
}

for (const presetId of PRESETS) {
  const ctx = await CkksContext.create(presetId);
  const client = CkksClient.generate(ctx);
  const allSteps = Array.from({ length: Math.log2(ctx.preset.slots) }, (_, i) => 2 ** i);
  const keys = ctx.loadGaloisKeys(client.makeGaloisKeys(allSteps));

  // Primitive costs at the top level, where the evaluator rotates and multiplies.
  const probePlan = planLinear(ctx.preset, 1, 1);
  const ct = ctx.loadCiphertext(client.encryptVectors(probePlan, [[0.5]])[0]);
  const pt = ctx.encode(new Float64Array(ctx.preset.slots).fill(0.25), 2 ** probePlan.weightScaleBits);
  const out = new ctx.seal.Ciphertext();
  const rotateMs = time(() => ctx.evaluator.rotateVector(ct, 1, keys, out), 50);
  const mulMs = time(() => ctx.evaluator.multiplyPlain(ct, pt, out), 200);
  // Per term of a 32-term sum of products, as the evaluator computes a giant step (plain-mac.ts in Node).
  const terms = Array.from({ length: 32 }, () => [ct, pt] as const);
  const sumTermMs = time(() => ctx.sumPlainProducts(terms, out), 20) / terms.length;
  // A sum of rotated ciphertexts with one shared key switch (rotation-sum.ts; SEAL's rotations where
  // it cannot run): per term, from 16 terms against 1, and the rest of one term, its mod-down.
  const sumSteps = Array.from({ length: 16 }, (_, i) => i + 1);
  const sumKeys = ctx.loadGaloisKeys(client.makeGaloisKeys(sumSteps), sumSteps.length);
  const sumMs = (count: number) =>
    time(
      () =>
        ctx
          .sumRotations(
            sumSteps.slice(0, count).map((step) => [ct, step] as const),
            sumKeys,
          )
          .delete(),
      30,
    );
  sumMs(16); // the kernel checks itself against SEAL on first use, and V8 tiers it up
  const [one, sixteen] = [sumMs(1), sumMs(16)];
  const summedRotationMs = (sixteen - one) / 15;
  sumKeys.delete();
  const encryptMs = time(() => client.encryptVectors(probePlan, [[0.5]]), 20);
  const probeResponse = ctx.save(ct);
  const decryptMs = time(() => client.decryptSlots([probeResponse]), 20);
  out.delete();
  pt.delete();
  ct.delete();
  console.log(
    JSON.stringify({
      kind: 'primitives',
      preset: presetId,
      rotate_ms: round(rotateMs),
      multiply_plain_ms: round(mulMs),
      sum_product_term_ms: round(sumTermMs, 4),
      summed_rotation_ms: round(summedRotationMs),
      mod_down_ms: round(one - summedRotationMs),
      rotation_kernel: ctx.rotations.kernel > 0,
      encrypt_ms: round(encryptMs),
      decrypt_ms: round(decryptMs),
      ...noiseOf(ctx, client, keys),
    }),
  );

  const storiesSteps = unionGaloisSteps(STORIES_260K.map(([o, i]) => planLinear(ctx.preset, o, i)));
  const storiesKeys = client.makeGaloisKeys(storiesSteps);
  console.log(JSON.stringify({ kind: 'stories260K-keys', preset: presetId, galois_steps: storiesSteps, galois_key_bytes: storiesKeys.length }));

  for (const [dOut, dIn] of SHAPES) {
    const rand = seededRandom(dOut * 131 + dIn);
    const w = randomWeights(rand, dOut, dIn);
    const x = randomVector(rand, dIn);
    const plan = planLinear(ctx.preset, dOut, dIn);
    const op = new LinearOperator(ctx, plan, w);
    const planKeys = ctx.loadGaloisKeys(client.makeGaloisKeys(plan.galoisSteps), plan.galoisSteps.length);
    const repeat = plan.cost.estimatedMs > 500 ? 3 : 10;
    let upload: Uint8Array[] = [];
    const encryptMs = time(() => (upload = client.encryptVectors(plan, [x])), repeat);
    const inputs = upload.map((b) => ctx.loadCiphertext(b));
    let response: Uint8Array[] = [];
    const stats = { rotations: 0, plainMults: 0 };
    const evalMs = time(() => {
      stats.rotations = 0;
      stats.plainMults = 0;
      const outs = op.evaluate(inputs, 1, planKeys, stats);
      response = outs.map((c) => ctx.save(c));
      outs.forEach((c) => c.delete());
    }, repeat);
    let y: Float64Array = new Float64Array(0);
    const decryptMs = time(() => ([y] = client.decryptVectors(plan, response, 1)), repeat);
    const want = linearReference(w, x);
    const maxAbsErr = want.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
    const galoisKeyBytes = client.makeGaloisKeys(plan.galoisSteps).length;
    const modelled = stats.rotations * rotateMs + stats.plainMults * mulMs;
    console.log(
      JSON.stringify({
        kind: 'linear',
        preset: presetId,
        d_in: dIn,
        d_out: dOut,
        packing: plan.packing,
        batch: plan.batch,
        chunks: plan.chunks,
        block_size: plan.blockSize,
        baby_steps: plan.babySteps,
        giant_steps: plan.giantSteps,
        pre_rotated: plan.preRotated,
        in_tiles: plan.inTiles,
        out_tiles: plan.outTiles,
        rotations: stats.rotations,
        plain_mults: stats.plainMults,
        galois_steps: plan.galoisSteps,
        galois_key_bytes: galoisKeyBytes,
        up_bytes: upload.reduce((n, b) => n + b.length, 0),
        down_bytes: response.reduce((n, b) => n + b.length, 0),
        encrypt_ms: round(encryptMs),
        eval_ms: round(evalMs),
        decrypt_ms: round(decryptMs),
        max_abs_err: maxAbsErr,
        plan_efficiency: round(modelled / evalMs),
      }),
    );
    inputs.forEach((c) => c.delete());
    planKeys.delete();
    op.delete();
  }
  keys.delete();
  client.delete();
  ctx.delete();
}
