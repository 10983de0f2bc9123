const f = Math.fround;
const MASK64 = (1n << 64n) - 1n;
const XORSHIFT_STAR = 0x2545f4914f6cdd1dn;

/** llama2.c's xorshift* generator (random_u32 / random_f32): same seed, same stream. */
export class XorShiftRng {
  #state: bigint;

  constructor(seed: number | bigint) {
    const state = BigInt(seed) & MASK64;
    // xorshift never leaves the all-zero state; llama2.c swaps 0 for time(NULL).
    if (state === 0n) throw new RangeError('XorShiftRng seed must be non-zero');
    this.#state = state;
  }

  nextU32(): number {
    let s = this.#state;
    s ^= s >> 12n;
    s ^= (s << 25n) & MASK64;
    s ^= s >> 27n;
    this.#state = s;
    return Number(((s * XORSHIFT_STAR) & MASK64) >> 32n);
  }

  /** float32 in [0, 1) with 24 random bits. */
  nextF32(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }
}

/** Index of the largest value; the first one wins ties (llama2.c sample_argmax). */
export function sampleArgmax(values: ArrayLike<number>): number {
  let maxI = 0;
  let maxP = values[0];
  for (let i = 1; i < values.length; i++) {
    if (values[i] > maxP) {
      maxI = i;
      maxP = values[i];
    }
  }
  return maxI;
}

/** In-place float32 softmax, as llama2.c softmax(). */
export function softmaxF32(x: Float32Array): void {
  let max = x[0];
  for (let i = 1; i < x.length; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    x[i] = f(Math.exp(f(x[i] - max)));
    sum = f(sum + x[i]);
  }
  for (let i = 0; i < x.length; i++) x[i] = f(x[i] / sum);
}

/** llama2.c sample_mult: walk the CDF until it passes `coin`. */
export function sampleMult(probabilities: Float32Array, coin: number): number {
  let cdf = 0;
  for (let i = 0; i < probabilities.length; i++) {
    cdf = f(cdf + probabilities[i]);
    if (coin < cdf) return i;
  }
  return probabilities.length - 1; // rounding errors
}

/** llama2.c sample_topp: nucleus sampling over the smallest set whose mass exceeds topp. */
export function sampleTopP(probabilities: Float32Array, topp: number, coin: number): number {
  const n = probabilities.length;
  // Values below (1 - topp) / (n - 1) can never be in the nucleus; drop them before sorting.
  const cutoff = f(f(1 - f(topp)) / (n - 1));
  const candidates: Array<{ index: number; prob: number }> = [];
  for (let i = 0; i < n; i++) {
    if (probabilities[i] >= cutoff) candidates.push({ index: i, prob: probabilities[i] });
  }
  // qsort is not stable; ties keep index order here, C's order for ties is unspecified.
  candidates.sort((a, b) => b.prob - a.prob);

  let cumulative = 0;
  let last = candidates.length - 1;
  for (let i = 0; i < candidates.length; i++) {
    cumulative = f(cumulative + candidates[i].prob);
    if (cumulative > f(topp)) {
      last = i;
      break;
    }
  }
  const r = f(coin * cumulative);
  let cdf = 0;
  for (let i = 0; i <= last; i++) {
    cdf = f(cdf + candidates[i].prob);
    if (r < cdf) return candidates[i].index;
  }
  return candidates[last].index;
}

export interface SamplerOptions {
  /** 0 = greedy argmax. */
  temperature: number;
  /** Nucleus mass in (0, 1); outside that range sampling uses the full distribution. */
  topp?: number;
  /** Non-zero; required for temperature > 0 so runs are reproducible. */
  seed?: number | bigint;
}

/** llama2.c's Sampler: greedy, temperature, or temperature + top-p. */
export class Sampler {
  readonly temperature: number;
  readonly topp: number;
  readonly #rng: XorShiftRng | undefined;

  constructor(options: SamplerOptions) {
    if (!(options.temperature >= 0)) throw new RangeError(`temperature must be >= 0, got ${options.temperature}`);
    this.temperature = f(options.temperature);
    this.topp = options.topp ?? 0.9;
    if (this.temperature !== 0) {
      if (options.seed === undefined) throw new RangeError('a seed is required when temperature > 0');
      this.#rng = new XorShiftRng(options.seed);
    }
  }

  /** Next token id from logits (not modified). */
  sample(logits: Float32Array): number {
    if (this.#rng === undefined) return sampleArgmax(logits);
    const probs = new Float32Array(logits.length);
    for (let i = 0; i < logits.length; i++) probs[i] = f(logits[i] / this.temperature);
    softmaxF32(probs);
    // One coin per sample, drawn even when top-p is off: keeps the stream aligned with C.
    const coin = this.#rng.nextF32();
    if (this.topp <= 0 || this.topp >= 1) return sampleMult(probs, coin);
    return sampleTopP(probs, this.topp, coin);
  }
}
