// GPT-2 (transformers' GPT2LMHeadModel): pre-LayerNorm blocks with biases, a
// fused q/k/v projection, gelu_new, learned positional embeddings and a head
// tied to the token embedding. Loaded by formats/hf-gpt2.ts; the plaintext
// reference for a future GPT-2 split schedule (docs/models.md).

export interface Gpt2Config {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  vocabSize: number;
  /** n_positions: rows of the positional embedding. */
  seqLen: number;
  headSize: number;
  normEps: number;
}

/** Matrices row-major [out][in] (the transpose of transformers' Conv1D [in][out]). */
export interface Gpt2LayerWeights {
  ln1Gain: Float32Array;
  ln1Bias: Float32Array;
  wqkv: Float32Array;
  bqkv: Float32Array; // [3 dim][dim]
  wo: Float32Array;
  bo: Float32Array; // [dim][dim]
  ln2Gain: Float32Array;
  ln2Bias: Float32Array;
  wfc: Float32Array;
  bfc: Float32Array; // [hidden][dim]
  wproj: Float32Array;
  bproj: Float32Array; // [dim][hidden]
}

export interface Gpt2Weights {
  config: Gpt2Config;
  tokenEmbedding: Float32Array; // [vocab][dim]
  positionEmbedding: Float32Array; // [seqLen][dim]
  layers: Gpt2LayerWeights[];
  lnfGain: Float32Array;
  lnfBias: Float32Array;
  /** [vocab][dim]; the token embedding when tied (GPT-2 always is). */
  wcls: Float32Array;
}

export function gpt2ParameterCount(c: Gpt2Config): number {
  const perLayer = 4 * c.dim + 3 * c.dim * c.dim + 3 * c.dim + c.dim * c.dim + c.dim + 2 * c.dim * c.hiddenDim + c.hiddenDim + c.dim;
  return c.vocabSize * c.dim + c.seqLen * c.dim + c.nLayers * perLayer + 2 * c.dim;
}

/** gelu_new: GPT-2's tanh approximation. */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

function layerNorm(x: Float64Array, gain: Float32Array, bias: Float32Array, eps: number): Float64Array {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  const inv = 1 / Math.sqrt(variance / x.length + eps);
  return x.map((v, i) => (v - mean) * inv * gain[i] + bias[i]);
}

function affine(w: Float32Array, b: Float32Array, x: Float64Array): Float64Array {
  const out = new Float64Array(b.length);
  const n = x.length;
  for (let r = 0; r < out.length; r++) {
    let s = b[r];
    for (let c = 0; c < n; c++) s += w[r * n + c] * x[c];
    out[r] = s;
  }
  return out;
}

/** Plaintext GPT-2 forward pass in Float64 with its own KV cache (one instance per sequence). */
export class Gpt2Transformer {
  readonly config: Gpt2Config;
  readonly #w: Gpt2Weights;
  readonly #keys: Float64Array[][];
  readonly #values: Float64Array[][];

  constructor(weights: Gpt2Weights) {
    this.config = weights.config;
    this.#w = weights;
    this.#keys = weights.layers.map(() => []);
    this.#values = weights.layers.map(() => []);
  }

  /** Logits after `token` at position `pos` (positions < pos must have run). */
  forward(token: number, pos: number): Float32Array {
    const { dim, nHeads, headSize, vocabSize, seqLen, normEps } = this.config;
    if (!Number.isInteger(token) || token < 0 || token >= vocabSize) throw new RangeError(`token ${token} is outside the vocabulary [0, ${vocabSize})`);
    if (!Number.isInteger(pos) || pos < 0 || pos >= seqLen || pos > this.#keys[0].length) throw new RangeError(`position ${pos} is outside [0, ${Math.min(seqLen, this.#keys[0].length + 1)})`);
    const w = this.#w;
    let x = new Float64Array(dim);
    for (let i = 0; i < dim; i++) x[i] = w.tokenEmbedding[token * dim + i] + w.positionEmbedding[pos * dim + i];
    w.layers.forEach((lw, l) => {
      const qkv = affine(lw.wqkv, lw.bqkv, layerNorm(x, lw.ln1Gain, lw.ln1Bias, normEps));
      this.#keys[l][pos] = qkv.slice(dim, 2 * dim);
      this.#values[l][pos] = qkv.slice(2 * dim, 3 * dim);
      const att = new Float64Array(dim);
      const scores = new Float64Array(pos + 1);
      for (let h = 0; h < nHeads; h++) {
        const o = h * headSize;
        let max = -Infinity;
        for (let t = 0; t <= pos; t++) {
          let s = 0;
          for (let i = 0; i < headSize; i++) s += qkv[o + i] * this.#keys[l][t][o + i];
          scores[t] = s / Math.sqrt(headSize);
          max = Math.max(max, scores[t]);
        }
        let sum = 0;
        for (let t = 0; t <= pos; t++) sum += scores[t] = Math.exp(scores[t] - max);
        for (let t = 0; t <= pos; t++) for (let i = 0; i < headSize; i++) att[o + i] += (scores[t] / sum) * this.#values[l][t][o + i];
      }
      const attnOut = affine(lw.wo, lw.bo, att);
      x = x.map((v, i) => v + attnOut[i]);
      const hidden = affine(lw.wfc, lw.bfc, layerNorm(x, lw.ln2Gain, lw.ln2Bias, normEps)).map(geluTanh);
      const ffnOut = affine(lw.wproj, lw.bproj, hidden);
      x = x.map((v, i) => v + ffnOut[i]);
    });
    const final = layerNorm(x, w.lnfGain, w.lnfBias, normEps);
    return Float32Array.from(affine(w.wcls, new Float32Array(vocabSize), final));
  }
}
