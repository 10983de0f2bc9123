import { Float32Transformer } from './forward.ts';
import { configFromHeader, LLAMA2C_NORM_EPS, LLAMA2C_ROPE_THETA } from './checkpoint.ts';
import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from './checkpoint.ts';

/** Model shapes the synthetic generator knows (real models' dimensions; GPT-2's as a LLaMA stand-in). */
export const SYNTHETIC_SHAPES = {
  tiny: { dim: 64, hiddenDim: 172, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 512, seqLen: 64 },
  stories15M: { dim: 288, hiddenDim: 768, nLayers: 6, nHeads: 6, nKvHeads: 6, vocabSize: 32000, seqLen: 256 },
  stories110M: { dim: 768, hiddenDim: 2048, nLayers: 12, nHeads: 12, nKvHeads: 12, vocabSize: 32000, seqLen: 1024 },
  'smollm-135m': { dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKvHeads: 3, vocabSize: 49152, seqLen: 2048 },
  gpt2: { dim: 768, hiddenDim: 3072, nLayers: 12, nHeads: 12, nKvHeads: 12, vocabSize: 50257, seqLen: 1024 },
} as const;
export type SyntheticShape = keyof typeof SYNTHETIC_SHAPES;

export interface SyntheticOptions {
  seed?: number;
  /** Separate classifier (llama2.c's negative vocab size). Default: shared. */
  separateClassifier?: boolean;
  ropeTheta?: number;
  normEps?: number;
  /** Standard deviation of the logits for a unit-RMS final state. Default 4 (clear top-2 gaps, within CKKS headroom). */
  logitScale?: number;
  /** Scale of the attention-output and FFN-down matrices (how much each layer adds to the residual stream). Default 1.5. */
  residualGain?: number;
  /** Override any dimension (tests). */
  overrides?: Partial<Record<keyof (typeof SYNTHETIC_SHAPES)[SyntheticShape], number>>;
}

/** mulberry32 with Box-Muller: seeded, fast, the same on every platform. */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Random LLaMA weights of a real shape, scaled so a forward pass stays in a
 * sane range: each matrix ~ N(0, (gain / sqrt(fan_in))^2), norm gains near 1,
 * and the classifier scaled so logits spread with std `logitScale` (random
 * weights otherwise give nearly uniform logits and ties under greedy decoding).
 */
export function syntheticLlama(shape: SyntheticShape, options: SyntheticOptions = {}): LlamaWeights {
  const s = { ...SYNTHETIC_SHAPES[shape], ...options.overrides };
  const vocab = options.separateClassifier ? -s.vocabSize : s.vocabSize;
  const config: LlamaConfig = {
    ...configFromHeader([s.dim, s.hiddenDim, s.nLayers, s.nHeads, s.nKvHeads, vocab, s.seqLen]),
    ropeTheta: options.ropeTheta ?? LLAMA2C_ROPE_THETA,
    normEps: options.normEps ?? LLAMA2C_NORM_EPS,
  };
  const rand = gaussian(options.seed ?? 1);
  const matrix = (rows: number, cols: number, gain: number) => {
    const out = new Float32Array(rows * cols);
    const std = gain / Math.sqrt(cols);
    for (let i = 0; i < out.length; i++) out[i] = rand() * std;
    return out;
  };
  const norm = (n: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = 1 + 0.1 * rand();
    return out;
  };
  const { dim, hiddenDim, kvDim, vocabSize } = config;
  // Layers must outweigh the token's own embedding in the residual stream, or
  // a shared classifier makes every token predict itself.
  const residual = options.residualGain ?? 1.5;
  const layers: LlamaLayerWeights[] = Array.from({ length: config.nLayers }, () => ({
    rmsAtt: norm(dim),
    wq: matrix(dim, dim, 1),
    wk: matrix(kvDim, dim, 1),
    wv: matrix(kvDim, dim, 1),
    wo: matrix(dim, dim, residual),
    rmsFfn: norm(dim),
    w1: matrix(hiddenDim, dim, 1),
    w2: matrix(dim, hiddenDim, residual),
    w3: matrix(hiddenDim, dim, 1),
  }));
  const logitScale = options.logitScale ?? 4;
  const tokenEmbedding = matrix(vocabSize, dim, logitScale);
  return {
    config,
    tokenEmbedding,
    layers,
    rmsFinal: norm(dim),
    wcls: options.separateClassifier ? matrix(vocabSize, dim, logitScale) : tokenEmbedding,
  };
}

export interface GreedyMargins {
  tokens: number[];
  /** Smallest gap between the two largest logits over the run: greedy decoding is unambiguous above float error. */
  minTop2Gap: number;
  meanTop2Gap: number;
  maxAbsLogit: number;
}

/** Greedy-decodes `steps` tokens from `start` in float32 and reports the top-2 logit gaps. */
export function greedyMargins(weights: LlamaWeights, steps: number, start = 1): GreedyMargins {
  const t = new Float32Transformer(weights);
  const tokens: number[] = [];
  let token = start;
  let minTop2Gap = Infinity;
  let sum = 0;
  let maxAbsLogit = 0;
  for (let pos = 0; pos < Math.min(steps, weights.config.seqLen); pos++) {
    const logits = t.forward(token, pos);
    let best = 0;
    let second = -Infinity;
    for (let i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) {
        second = logits[best];
        best = i;
      } else if (logits[i] > second) second = logits[i];
    }
    if (logits.length > 1 && second === -Infinity) second = logits[1];
    for (const v of logits) maxAbsLogit = Math.max(maxAbsLogit, Math.abs(v));
    const gap = logits[best] - second;
    minTop2Gap = Math.min(minTop2Gap, gap);
    sum += gap;
    tokens.push(best);
    token = best;
  }
  return { tokens, minTop2Gap, meanTop2Gap: sum / Math.max(1, tokens.length), maxAbsLogit };
}
