import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from '../checkpoint.ts';
import { ModelFileError } from './model-file-error.ts';

/** The file formats a model can come in. */
export type ModelFileFormat = 'llama2c' | 'llama2c-v1' | 'llama2c-v2' | 'gguf' | 'safetensors';

/**
 * A tokenizer shipped with a model, in one of the two formats a client can
 * parse: llama2.c's tokenizer.bin or Hugging Face's tokenizer.json.
 */
export interface TokenizerFile {
  kind: 'llama2c-bin' | 'hf-json';
  bytes: Uint8Array;
}

/** A LLaMA-architecture model loaded from any supported format, dequantized to float32. */
export interface LoadedModel {
  format: ModelFileFormat;
  /** The file or folder it came from. */
  source: string;
  architecture: 'llama';
  weights: LlamaWeights;
  parameterCount: number;
  /** The model's own vocabulary (GGUF, Hugging Face folders); llama2.c files carry none. */
  tokenizer?: TokenizerFile;
}

/** Parameters of a LLaMA model (a shared classifier counted once). */
export function llamaParameterCount(c: LlamaConfig): number {
  const perLayer = 2 * c.dim + 2 * c.dim * c.dim + 2 * c.dim * c.kvDim + 3 * c.dim * c.hiddenDim;
  return c.vocabSize * c.dim * (c.sharedClassifier ? 1 : 2) + c.nLayers * perLayer + c.dim;
}

/** Canonical tensor names (llama2.c's) and their element counts. */
export function llamaTensorShapes(c: LlamaConfig): Record<keyof LlamaLayerWeights, number> {
  return {
    rmsAtt: c.dim,
    wq: c.dim * c.dim,
    wk: c.kvDim * c.dim,
    wv: c.kvDim * c.dim,
    wo: c.dim * c.dim,
    rmsFfn: c.dim,
    w1: c.hiddenDim * c.dim,
    w2: c.dim * c.hiddenDim,
    w3: c.hiddenDim * c.dim,
  };
}

/** Throws unless `data` has `expected` elements. */
export function checkLength(file: string, tensor: string, data: Float32Array, expected: number): Float32Array {
  if (data.length !== expected) {
    throw new ModelFileError('bad_shape', file, `has ${data.length} elements, expected ${expected}`, { tensor, expected, got: data.length });
  }
  return data;
}

/**
 * Hugging Face stores q/k rows of each head as two halves (RoPE rotates i with
 * i + head/2); llama2.c and llama.cpp rotate adjacent pairs (2i, 2i+1). This
 * reorders rows from split halves to interleaved pairs, which leaves q·k
 * unchanged and lets one RoPE serve every format.
 */
export function unpermuteHalvesToPairs(w: Float32Array, heads: number, cols: number): Float32Array {
  const rows = w.length / cols;
  const headSize = rows / heads;
  const half = headSize / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let p = 0; p < 2; p++) {
        const from = (h * headSize + p * half + i) * cols;
        const to = (h * headSize + 2 * i + p) * cols;
        out.set(w.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

/** The inverse of unpermuteHalvesToPairs (writers of Hugging Face files). */
export function permutePairsToHalves(w: Float32Array, heads: number, cols: number): Float32Array {
  const rows = w.length / cols;
  const headSize = rows / heads;
  const half = headSize / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let p = 0; p < 2; p++) {
        const to = (h * headSize + p * half + i) * cols;
        const from = (h * headSize + 2 * i + p) * cols;
        out.set(w.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}
