import { LLAMA2C_NORM_EPS, LLAMA2C_ROPE_THETA } from './checkpoint.ts';
import type { LlamaConfig, LlamaWeights } from './checkpoint.ts';

const f = Math.fround;

// Every helper below rounds each product and each partial sum to float32, the
// way llama2.c's `float` arithmetic does (compiled without -ffast-math), so the
// logits match the C reference bit for bit up to libm differences in exp/sin/cos.

/** xout[i] = sum_j w[i*n + j] * x[j], W (d, n) row-major. */
function matmul(xout: Float32Array, x: Float32Array, w: Float32Array, n: number, d: number): void {
  for (let i = 0; i < d; i++) {
    let val = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) val = f(val + f(w[row + j] * x[j]));
    xout[i] = val;
  }
}

function rmsnorm(out: Float32Array, x: Float32Array, weight: Float32Array, eps: number): void {
  let ss = 0;
  for (let j = 0; j < x.length; j++) ss = f(ss + f(x[j] * x[j]));
  ss = f(ss / x.length);
  ss = f(ss + f(eps));
  ss = f(1 / f(Math.sqrt(ss)));
  for (let j = 0; j < x.length; j++) out[j] = f(weight[j] * f(ss * x[j]));
}

function softmax(x: Float32Array, size: number): void {
  let max = x[0];
  for (let i = 1; i < size; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < size; i++) {
    x[i] = f(Math.exp(f(x[i] - max)));
    sum = f(sum + x[i]);
  }
  for (let i = 0; i < size; i++) x[i] = f(x[i] / sum);
}

/**
 * Plaintext float32 LLaMA forward pass, a port of llama2.c run.c `forward()`.
 * One instance holds one sequence's KV cache: use one instance per sequence.
 */
export class Float32Transformer {
  readonly config: LlamaConfig;
  readonly #w: LlamaWeights;
  // Activation buffers, reused across calls like llama2.c's RunState.
  readonly #x: Float32Array;
  readonly #xb: Float32Array;
  readonly #xb2: Float32Array;
  readonly #hb: Float32Array;
  readonly #hb2: Float32Array;
  readonly #q: Float32Array;
  readonly #att: Float32Array;
  readonly #logits: Float32Array;
  readonly #keyCache: Float32Array; // [layer][seqLen][kvDim]
  readonly #valueCache: Float32Array;

  constructor(weights: LlamaWeights) {
    const c = weights.config;
    this.config = c;
    this.#w = weights;
    this.#x = new Float32Array(c.dim);
    this.#xb = new Float32Array(c.dim);
    this.#xb2 = new Float32Array(c.dim);
    this.#hb = new Float32Array(c.hiddenDim);
    this.#hb2 = new Float32Array(c.hiddenDim);
    this.#q = new Float32Array(c.dim);
    this.#att = new Float32Array(c.seqLen);
    this.#logits = new Float32Array(c.vocabSize);
    this.#keyCache = new Float32Array(c.nLayers * c.seqLen * c.kvDim);
    this.#valueCache = new Float32Array(c.nLayers * c.seqLen * c.kvDim);
  }

  /**
   * Logits for the token following `token` at position `pos`, after writing this
   * position's keys/values into the cache (positions < pos must be filled).
   * Returns a fresh array.
   */
  forward(token: number, pos: number): Float32Array {
    const { dim, hiddenDim, kvDim, headSize, nHeads, nKvHeads, seqLen, vocabSize } = this.config;
    if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
      throw new RangeError(`token ${token} is outside the vocabulary [0, ${vocabSize})`);
    }
    if (!Number.isInteger(pos) || pos < 0 || pos >= seqLen) {
      throw new RangeError(`position ${pos} is outside [0, ${seqLen})`);
    }
    const w = this.#w;
    const x = this.#x,
      xb = this.#xb,
      xb2 = this.#xb2,
      hb = this.#hb,
      hb2 = this.#hb2,
      q = this.#q,
      att = this.#att;
    const kvMul = nHeads / nKvHeads;
    const sqrtHeadSize = f(Math.sqrt(headSize));
    const eps = this.config.normEps ?? LLAMA2C_NORM_EPS;
    const theta = this.config.ropeTheta ?? LLAMA2C_ROPE_THETA;

    x.set(w.tokenEmbedding.subarray(token * dim, (token + 1) * dim));
    for (let l = 0; l < this.config.nLayers; l++) {
      const lw = w.layers[l];
      rmsnorm(xb, x, lw.rmsAtt, eps);

      const loff = l * seqLen * kvDim;
      const k = this.#keyCache.subarray(loff + pos * kvDim, loff + (pos + 1) * kvDim);
      const v = this.#valueCache.subarray(loff + pos * kvDim, loff + (pos + 1) * kvDim);
      matmul(q, xb, lw.wq, dim, dim);
      matmul(k, xb, lw.wk, dim, kvDim);
      matmul(v, xb, lw.wv, dim, kvDim);

      // RoPE: rotate pairs (i, i+1) of q (and of k while i < kvDim).
      for (let i = 0; i < dim; i += 2) {
        const headDim = i % headSize;
        const freq = f(1 / f(Math.pow(theta, f(headDim / headSize))));
        const val = f(pos * freq);
        const fcr = f(Math.cos(val));
        const fci = f(Math.sin(val));
        const rotations = i < kvDim ? 2 : 1;
        for (let r = 0; r < rotations; r++) {
          const vec = r === 0 ? q : k;
          const v0 = vec[i];
          const v1 = vec[i + 1];
          vec[i] = f(f(v0 * fcr) - f(v1 * fci));
          vec[i + 1] = f(f(v0 * fci) + f(v1 * fcr));
        }
      }

      // Grouped-query attention: query head h reads kv head h / kvMul.
      for (let h = 0; h < nHeads; h++) {
        const qh = h * headSize;
        const kvOff = loff + Math.floor(h / kvMul) * headSize;
        for (let t = 0; t <= pos; t++) {
          const kt = kvOff + t * kvDim;
          let score = 0;
          for (let i = 0; i < headSize; i++) score = f(score + f(q[qh + i] * this.#keyCache[kt + i]));
          att[t] = f(score / sqrtHeadSize);
        }
        softmax(att, pos + 1);
        xb.fill(0, qh, qh + headSize);
        for (let t = 0; t <= pos; t++) {
          const vt = kvOff + t * kvDim;
          const a = att[t];
          for (let i = 0; i < headSize; i++) xb[qh + i] = f(xb[qh + i] + f(a * this.#valueCache[vt + i]));
        }
      }

      matmul(xb2, xb, lw.wo, dim, dim);
      for (let i = 0; i < dim; i++) x[i] = f(x[i] + xb2[i]);

      rmsnorm(xb, x, lw.rmsFfn, eps);
      matmul(hb, xb, lw.w1, dim, hiddenDim);
      matmul(hb2, xb, lw.w3, dim, hiddenDim);
      for (let i = 0; i < hiddenDim; i++) {
        let val = hb[i];
        val = f(val * f(1 / f(1 + f(Math.exp(-val))))); // SiLU
        hb[i] = f(val * hb2[i]);
      }
      matmul(xb, hb, lw.w2, hiddenDim, dim);
      for (let i = 0; i < dim; i++) x[i] = f(x[i] + xb[i]);
    }

    rmsnorm(x, x, w.rmsFinal, eps);
    matmul(this.#logits, x, w.wcls, dim, vocabSize);
    return this.#logits.slice();
  }
}
