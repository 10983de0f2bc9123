import type { LlamaConfig } from './checkpoint.ts';
import { geluTanh } from './gpt2.ts';
import { gpt2ClientTableLayout } from './gpt2-schedule.ts';
import { architectureOf, clientTableLength, embeddingOf, type ModelDescriptor } from './model-descriptor.ts';
import { classifierOnClient } from './schedule.ts';
import { rms, silu } from './weightless-ops.ts';

/**
 * The architecture-specific arithmetic the split client does between relay
 * steps (see schedule.ts and gpt2-schedule.ts for where each piece sits).
 * Everything here uses either no weights or the client table the relay
 * published.
 */
export interface ClientBlock {
  /** Rotate q and k by position (LLaMA) or not (GPT-2's positions are in x). */
  readonly rope: boolean;
  /** The first residual x for a token at a position (client-side embedding only). */
  embed(x: Float64Array, token: number, pos: number): void;
  /** What a normalised step output is divided by: rms(x) (RMSNorm) or σ(x) (LayerNorm). */
  norm(x: Float64Array): number;
  /** Adds the residual branch's bias to x before x goes into the step that adds the branch. */
  addResidualBias(x: Float64Array, layer: number, branch: 'attn' | 'mlp'): void;
  /** Bias added to q, k, v after the division, or undefined. */
  qkvBias(layer: number): Float32Array | undefined;
  /** The MLP's activation h from the step output's MLP part (at `at`), divided by s. */
  mlp(h: Float64Array, out: Float64Array, at: number, s: number, layer: number): void;
  /** The logits from the final residual, when the client computes them (see classifierOnClient); else undefined. */
  readonly classify?: (x: Float64Array) => Float32Array;
}

/** logits[t] = Σ_i table[t·dim + i]·y[i]: the tied head over the client's token table. */
function tiedLogits(table: Float32Array, at: number, vocabSize: number, y: Float64Array): Float32Array {
  const dim = y.length;
  const out = new Float32Array(vocabSize);
  for (let t = 0; t < vocabSize; t++) {
    const row = at + t * dim;
    let s = 0;
    for (let i = 0; i < dim; i++) s += table[row + i] * y[i];
    out[t] = s;
  }
  return out;
}

/** LayerNorm's divisor: sqrt(mean((x − mean)²) + eps). */
export function centeredStd(x: Float64Array, eps: number): number {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let variance = 0;
  for (let i = 0; i < x.length; i++) variance += (x[i] - mean) ** 2;
  return Math.sqrt(variance / x.length + eps);
}

/** Throws RangeError when the table does not have the length the descriptor implies. */
export function clientBlockFor(descriptor: ModelDescriptor, table: Float32Array | undefined): ClientBlock {
  const expected = clientTableLength(descriptor);
  if (expected > 0 && table?.length !== expected) {
    throw new RangeError(`model ${descriptor.id} looks tokens up on the client: clientTable needs ${expected} values, got ${table?.length ?? 'none'}`);
  }
  const config = descriptor.config;
  const eps = descriptor.normEps;
  if (architectureOf(descriptor) === 'gpt2') return gpt2Block(config, eps, table as Float32Array);
  const embedding = embeddingOf(descriptor);
  return llamaBlock(config, eps, embedding === 'client' ? table : undefined, classifierOnClient(config, embedding));
}

function llamaBlock(config: LlamaConfig, eps: number, table: Float32Array | undefined, classifies: boolean): ClientBlock {
  const { dim, hiddenDim, vocabSize } = config;
  const finalGain = classifies && table ? table.subarray(vocabSize * dim, vocabSize * dim + dim) : undefined;
  return {
    ...(finalGain && {
      classify(x: Float64Array) {
        const s = rms(x, eps);
        return tiedLogits(
          table as Float32Array,
          0,
          vocabSize,
          x.map((v, i) => (v / s) * finalGain[i]),
        );
      },
    }),
    rope: true,
    embed(x, token) {
      if (!table) throw new Error('this model embeds tokens on the relay');
      for (let j = 0; j < dim; j++) x[j] = table[token * dim + j];
    },
    norm: (x) => rms(x, eps),
    addResidualBias() {},
    qkvBias: () => undefined,
    mlp(h, out, at, s) {
      for (let j = 0; j < hiddenDim; j++) h[j] = silu(out[at + j] / s) * (out[at + hiddenDim + j] / s);
    },
  };
}

function gpt2Block(config: LlamaConfig, eps: number, table: Float32Array): ClientBlock {
  const { dim, hiddenDim, vocabSize } = config;
  const layout = gpt2ClientTableLayout(config);
  const part = (at: number, n: number) => table.subarray(at, at + n);
  return {
    rope: false,
    embed(x, token, pos) {
      for (let j = 0; j < dim; j++) x[j] = table[layout.tokens + token * dim + j] + table[layout.positions + pos * dim + j];
    },
    norm: (x) => centeredStd(x, eps),
    addResidualBias(x, layer, branch) {
      const b = part(branch === 'attn' ? layout.layers[layer].attnOutBias : layout.layers[layer].projBias, dim);
      for (let j = 0; j < dim; j++) x[j] += b[j];
    },
    qkvBias: (layer) => part(layout.layers[layer].qkvBias, 3 * dim),
    mlp(h, out, at, s, layer) {
      const b = part(layout.layers[layer].fcBias, hiddenDim);
      for (let j = 0; j < hiddenDim; j++) h[j] = geluTanh(out[at + j] / s + b[j]);
    },
    classify(x) {
      const s = centeredStd(x, eps);
      let mean = 0;
      for (let i = 0; i < dim; i++) mean += x[i];
      mean /= dim;
      const gain = part(layout.finalGain, dim);
      const bias = part(layout.finalBias, dim);
      return tiedLogits(
        table,
        layout.tokens,
        vocabSize,
        x.map((v, i) => ((v - mean) / s) * gain[i] + bias[i]),
      );
    },
  };
}
