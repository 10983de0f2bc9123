// The client's share of the model: operations that need no weights, in Float64.
// They run on decrypted step outputs; see schedule.ts for where they sit.

/** sqrt(mean(x^2) + eps): RMSNorm divides by this (its gain is folded into the server matrices). */
export function rms(x: Float64Array, eps: number): number {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  return Math.sqrt(ss / x.length + eps);
}

/**
 * RoPE as llama2.c: rotate adjacent pairs (i, i+1) by pos * theta^-((i % headSize)/headSize),
 * q over its whole width, k over its (kvDim) width.
 */
export function applyRope(q: Float64Array, k: Float64Array, pos: number, headSize: number, theta: number): void {
  for (let i = 0; i < q.length; i += 2) {
    const angle = pos / Math.pow(theta, (i % headSize) / headSize);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const rotations = i < k.length ? 2 : 1;
    for (let r = 0; r < rotations; r++) {
      const vec = r === 0 ? q : k;
      const v0 = vec[i];
      const v1 = vec[i + 1];
      vec[i] = v0 * cos - v1 * sin;
      vec[i + 1] = v0 * sin + v1 * cos;
    }
  }
}

export interface AttentionShape {
  nHeads: number;
  nKvHeads: number;
  headSize: number;
  kvDim: number;
}

/**
 * Causal grouped-query attention of query q at position pos over cached keys/values
 * at positions 0..pos, starting at element `base` of the caches ([pos][kvDim] rows).
 * Writes the concatenated head outputs into out (dim).
 */
export function attend(out: Float64Array, q: Float64Array, keys: Float64Array, values: Float64Array, base: number, pos: number, shape: AttentionShape): void {
  const { nHeads, nKvHeads, headSize, kvDim } = shape;
  const kvMul = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(headSize);
  const scores = new Float64Array(pos + 1);
  out.fill(0);
  for (let h = 0; h < nHeads; h++) {
    const qh = h * headSize;
    const kvHead = base + Math.floor(h / kvMul) * headSize;
    let max = -Infinity;
    for (let t = 0; t <= pos; t++) {
      const kt = kvHead + t * kvDim;
      let s = 0;
      for (let i = 0; i < headSize; i++) s += q[qh + i] * keys[kt + i];
      scores[t] = s * scale;
      if (scores[t] > max) max = scores[t];
    }
    let sum = 0;
    for (let t = 0; t <= pos; t++) {
      scores[t] = Math.exp(scores[t] - max);
      sum += scores[t];
    }
    for (let t = 0; t <= pos; t++) {
      const a = scores[t] / sum;
      const vt = kvHead + t * kvDim;
      for (let i = 0; i < headSize; i++) out[qh + i] += a * values[vt + i];
    }
  }
}

export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}
