import type { LlamaConfig } from './checkpoint.ts';
import type { Gpt2Config, Gpt2Weights } from './gpt2.ts';
import { ModelFormatError } from './model-format-error.ts';
import { residualOnly, residualThenMatmul, scheduleLayout, stepCollector, type Schedule, type ScheduleOptions } from './schedule.ts';

/**
 * GPT-2 in the split schedule, with LLaMA's two round trips per layer.
 *
 * A LayerNorm followed by an affine map is
 *   W·LN(x) + c = (W·diag(g)·C)·x / σ(x) + (W·b + c),   C = I − 11ᵀ/d,
 * so the centering C and the gain fold into the relay's matrix M, the client
 * divides by σ (the standard deviation, as LLaMA's client divides by rms) and
 * then adds the folded bias β = W·b + c. Residual biases (attention and MLP
 * output projections) are added by the client to x before it is sent, so the
 * composed matrix [[0, R], [M, M·R]] sees x + bias + R·u like LLaMA's does.
 *
 * The client therefore holds, besides the token embedding, the positional
 * embedding and these bias vectors (its "client table", served by the relay).
 * The head is tied to the token embedding, so the client also computes the
 * logits (final LayerNorm, then the table): the last step is W_proj·h alone.
 * Each is what an all-zero query of the step would return anyway (see
 * docs/split-inference.md), so publishing them discloses nothing a client
 * could not read in one request.
 */

/** GPT-2's shape in the split client's terms (multi-head attention: as many KV heads as heads). */
export function gpt2SplitConfig(c: Gpt2Config): LlamaConfig {
  return {
    dim: c.dim,
    hiddenDim: c.hiddenDim,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    nKvHeads: c.nHeads,
    vocabSize: c.vocabSize,
    seqLen: c.seqLen,
    headSize: c.headSize,
    kvDim: c.dim,
    sharedClassifier: true,
    normEps: c.normEps,
  };
}

/** Offsets (in float32 values) of each part of a GPT-2 client table. */
export interface Gpt2ClientTableLayout {
  tokens: number;
  positions: number;
  /** Per layer: folded q/k/v bias (3·dim), attention output bias (dim), folded MLP-in bias (hidden), MLP output bias (dim). */
  layers: { qkvBias: number; attnOutBias: number; fcBias: number; projBias: number }[];
  /** The final LayerNorm's gain and bias (dim each). */
  finalGain: number;
  finalBias: number;
  length: number;
}

export function gpt2ClientTableLayout(c: Pick<LlamaConfig, 'dim' | 'hiddenDim' | 'nLayers' | 'vocabSize' | 'seqLen'>): Gpt2ClientTableLayout {
  const { dim, hiddenDim, nLayers, vocabSize, seqLen } = c;
  let at = 0;
  const take = (n: number) => {
    at += n;
    return at - n;
  };
  const tokens = take(vocabSize * dim);
  const positions = take(seqLen * dim);
  const layers = Array.from({ length: nLayers }, () => ({ qkvBias: take(3 * dim), attnOutBias: take(dim), fcBias: take(hiddenDim), projBias: take(dim) }));
  const finalGain = take(dim);
  const finalBias = take(dim);
  return { tokens, positions, layers, finalGain, finalBias, length: at };
}

/** M = W·diag(g)·C (rows of W times g, each row's mean then subtracted) and β = W·b + c. */
function foldLayerNorm(w: Float32Array, gain: Float32Array, lnBias: Float32Array, bias: Float32Array | undefined, dim: number): { m: Float64Array; beta: Float64Array } {
  const rows = w.length / dim;
  const m = new Float64Array(w.length);
  const beta = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    let b = bias ? bias[r] : 0;
    for (let c = 0; c < dim; c++) {
      const v = w[r * dim + c] * gain[c];
      m[r * dim + c] = v;
      mean += v;
      b += w[r * dim + c] * lnBias[c];
    }
    mean /= dim;
    for (let c = 0; c < dim; c++) m[r * dim + c] -= mean;
    beta[r] = b;
  }
  return { m, beta };
}

/** Cuts GPT-2 into split steps (embedding on the client) and builds its client table. */
export function buildGpt2Schedule(weights: Gpt2Weights, options: Pick<ScheduleOptions, 'precision' | 'clientTable' | 'onStep'> = {}): Schedule {
  const c = weights.config;
  // The client computes the logits from the token table: only a tied head can be.
  if (weights.wcls !== weights.tokenEmbedding && weights.wcls.some((v, i) => v !== weights.tokenEmbedding[i])) {
    throw new ModelFormatError('bad_header', 'GPT-2 with a head not tied to its token embedding is not supported (the client computes the logits from the table)');
  }
  const config = gpt2SplitConfig(c);
  const { dim, hiddenDim, nLayers } = c;
  const layout = gpt2ClientTableLayout(config);
  // A relay worker needs only the matrices: the table (the client's) is 158 MB for GPT-2 small.
  const table = options.clientTable === false ? undefined : new Float32Array(layout.length);
  table?.set(weights.tokenEmbedding, layout.tokens);
  table?.set(weights.positionEmbedding.subarray(0, c.seqLen * dim), layout.positions);

  const qkv = (l: number) => foldLayerNorm(weights.layers[l].wqkv, weights.layers[l].ln1Gain, weights.layers[l].ln1Bias, weights.layers[l].bqkv, dim);
  const { steps, add } = stepCollector(scheduleLayout(config, 'client', 'gpt2'), options);
  let next = qkv(0);
  add(next.m);
  table?.set(next.beta, layout.layers[0].qkvBias);
  for (let l = 0; l < nLayers; l++) {
    const lw = weights.layers[l];
    const fc = foldLayerNorm(lw.wfc, lw.ln2Gain, lw.ln2Bias, lw.bfc, dim);
    table?.set(fc.beta, layout.layers[l].fcBias);
    table?.set(lw.bo, layout.layers[l].attnOutBias);
    table?.set(lw.bproj, layout.layers[l].projBias);
    add(residualThenMatmul(dim, lw.wo, dim, fc.m));
    if (l === nLayers - 1) {
      add(residualOnly(dim, lw.wproj, hiddenDim));
      break;
    }
    next = qkv(l + 1);
    table?.set(next.beta, layout.layers[l + 1].qkvBias);
    add(residualThenMatmul(dim, lw.wproj, hiddenDim, next.m));
  }
  table?.set(weights.lnfGain, layout.finalGain);
  table?.set(weights.lnfBias, layout.finalBias);
  return table ? { config, architecture: 'gpt2', embedding: 'client', clientTable: table, steps } : { config, architecture: 'gpt2', embedding: 'client', steps };
}
