// This machine's speed at the moment a benchmark runs. The same code has
// measured a SEAL rotation at 0.70 ms in one hour and 1.15 ms in another on
// this 2-core box with nothing else running (docs/benchmarks.md), which moves
// tokens/s by more than most changes do. Benchmarks print this reading beside
// their figures, so runs from different hours can be told apart.
import { CkksContext, DEFAULT_PRESET, planLinear } from '../src/index.ts';
import { CkksClient } from '../src/client/index.ts';

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median wall time of `repeat` calls of `fn`, in ms. */
export function timeMedian(fn: () => void, repeat: number): number {
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

/** Median ms of one rotation by one slot under `presetId` (default: the small models' preset), on this thread, now. */
export async function rotationMs(presetId = DEFAULT_PRESET, repeat = 60): Promise<number> {
  const ctx = await CkksContext.create(presetId);
  const client = CkksClient.generate(ctx);
  const keys = ctx.loadGaloisKeys(client.makeGaloisKeys([1]));
  const ct = ctx.loadCiphertext(client.encryptVectors(planLinear(ctx.preset, 1, 1), [[0.5]])[0]);
  const out = new ctx.seal.Ciphertext();
  try {
    return Number(timeMedian(() => ctx.evaluator.rotateVector(ct, 1, keys, out), repeat).toFixed(3));
  } finally {
    out.delete();
    ct.delete();
    keys.delete();
    client.delete();
    ctx.delete();
  }
}
