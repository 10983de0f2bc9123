import type { Gpt2Config, Gpt2LayerWeights, Gpt2Weights } from './gpt2.ts';
import { gaussian } from './synthetic-model.ts';

/** GPT-2 checkpoints' real dimensions (transformers' GPT2LMHeadModel). */
export const GPT2_SHAPES = {
  'gpt2-tiny': { dim: 32, nLayers: 2, nHeads: 4, vocabSize: 300, seqLen: 64 },
  gpt2: { dim: 768, nLayers: 12, nHeads: 12, vocabSize: 50257, seqLen: 1024 },
  'gpt2-medium': { dim: 1024, nLayers: 24, nHeads: 16, vocabSize: 50257, seqLen: 1024 },
} as const;
export type Gpt2Shape = keyof typeof GPT2_SHAPES;

export interface SyntheticGpt2Options {
  seed?: number;
  /** Standard deviation of the logits for a unit-variance final state. Default 4. */
  logitScale?: number;
  /** Scale of the attention and MLP output projections. Default 1.5. */
  residualGain?: number;
  overrides?: Partial<Record<keyof (typeof GPT2_SHAPES)[Gpt2Shape], number>>;
}

/**
 * Random GPT-2 weights of a real shape (tied head, 4·dim MLP, biases and
 * LayerNorm parameters near their trained magnitudes), scaled like
 * syntheticLlama so greedy decoding has clear top-2 gaps. Stands in for
 * GPT-2 checkpoints that cannot be downloaded here.
 */
export function syntheticGpt2(shape: Gpt2Shape, options: SyntheticGpt2Options = {}): Gpt2Weights {
  const s = { ...GPT2_SHAPES[shape], ...options.overrides };
  const config: Gpt2Config = { ...s, hiddenDim: 4 * s.dim, headSize: s.dim / s.nHeads, normEps: 1e-5 };
  const rand = gaussian(options.seed ?? 1);
  const filled = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  const matrix = (rows: number, cols: number, gain: number) => filled(rows * cols, () => (rand() * gain) / Math.sqrt(cols));
  const near = (n: number, centre: number, spread: number) => filled(n, () => centre + spread * rand());
  const { dim, hiddenDim, vocabSize, seqLen } = config;
  const residual = options.residualGain ?? 1.5;
  const layers: Gpt2LayerWeights[] = Array.from({ length: config.nLayers }, () => ({
    ln1Gain: near(dim, 1, 0.1),
    ln1Bias: near(dim, 0, 0.02),
    wqkv: matrix(3 * dim, dim, 1),
    bqkv: near(3 * dim, 0, 0.02),
    wo: matrix(dim, dim, residual),
    bo: near(dim, 0, 0.02),
    ln2Gain: near(dim, 1, 0.1),
    ln2Bias: near(dim, 0, 0.02),
    wfc: matrix(hiddenDim, dim, 1),
    bfc: near(hiddenDim, 0, 0.02),
    wproj: matrix(dim, hiddenDim, residual),
    bproj: near(dim, 0, 0.02),
  }));
  const tokenEmbedding = matrix(vocabSize, dim, options.logitScale ?? 4);
  return {
    config,
    tokenEmbedding,
    positionEmbedding: near(seqLen * dim, 0, 0.02),
    layers,
    lnfGain: near(dim, 1, 0.1),
    lnfBias: near(dim, 0, 0.02),
    wcls: tokenEmbedding,
  };
}
