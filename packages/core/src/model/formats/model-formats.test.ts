import { describe, expect, it } from 'vitest';
import type { LlamaWeights } from '../checkpoint.ts';
import { parseLlama2cCheckpoint } from '../checkpoint.ts';
import { Float32Transformer } from '../forward.ts';
import { syntheticLlama } from '../synthetic-model.ts';
import { ggufChunks } from './gguf-writer.ts';
import { hfLlamaFolderBytes } from './hf-writer.ts';
import { llama2cLegacyChunks, llama2cV1Chunks, llama2cV2Chunks } from './llama2c-writer.ts';
import { loadModelBytes, loadModelFolder, memoryFolder } from './load-model.ts';
import type { LoadedModel } from './loaded-model.ts';
import { concatChunks } from './tensor-encoding.ts';

// Same weights, every format: the logits of a few positions must agree, exactly
// for f32 formats and to the storage precision for f16, bf16 and int8.

const PROMPT = [1, 17, 200, 33, 5, 400];

function logits(weights: LlamaWeights): Float32Array[] {
  const t = new Float32Transformer(weights);
  return PROMPT.map((token, pos) => t.forward(token, pos));
}

/** Largest |a - b| over all positions, relative to the largest |logit|. */
function relativeError(a: Float32Array[], b: Float32Array[]): number {
  let err = 0;
  let max = 0;
  a.forEach((row, p) =>
    row.forEach((v, i) => {
      err = Math.max(err, Math.abs(v - b[p][i]));
      max = Math.max(max, Math.abs(v));
    }),
  );
  return err / max;
}

// GQA (4 heads, 2 kv heads), a separate classifier and non-default RoPE base
// and epsilon, so every convention shows up in the logits.
const separate = syntheticLlama('tiny', { seed: 7, separateClassifier: true, ropeTheta: 50000, normEps: 1e-6 });
const shared = syntheticLlama('tiny', { seed: 8 });

describe.each([
  ['separate classifier, GQA', separate],
  ['shared classifier', shared],
])('%s', (_label, weights) => {
  const reference = logits(weights);
  const check = (model: LoadedModel, tolerance: number) => {
    expect(model.weights.config.vocabSize).toBe(weights.config.vocabSize);
    expect(model.weights.config.sharedClassifier).toBe(weights.config.sharedClassifier);
    const err = relativeError(reference, logits(model.weights));
    if (tolerance === 0) expect(err).toBe(0);
    else expect(err).toBeLessThan(tolerance);
    return err;
  };
  const ropeDefaults = { ...weights, config: { ...weights.config, ropeTheta: undefined, normEps: undefined } };
  const llama2cCompatible = weights.config.ropeTheta === 10000;

  it('llama2.c legacy, version 1 and version 2 (int8 groups)', () => {
    // llama2.c files carry no RoPE base or epsilon: compare against llama2.c's.
    const ref = llama2cCompatible ? reference : logits(ropeDefaults);
    const legacy = loadModelBytes(concatChunks(llama2cLegacyChunks(weights)), 'legacy.bin');
    expect(legacy.format).toBe('llama2c');
    expect(relativeError(ref, logits(legacy.weights))).toBe(0);
    // The older whole-buffer parser agrees with the streaming one.
    expect(relativeError(ref, logits(parseLlama2cCheckpoint(concatChunks(llama2cLegacyChunks(weights)))))).toBe(0);
    const v1 = loadModelBytes(concatChunks(llama2cV1Chunks(weights)), 'v1.bin');
    expect(v1.format).toBe('llama2c-v1');
    expect(relativeError(ref, logits(v1.weights))).toBe(0);
    const v2 = loadModelBytes(concatChunks(llama2cV2Chunks(weights)), 'v2.bin');
    expect(v2.format).toBe('llama2c-v2');
    const err = relativeError(ref, logits(v2.weights));
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.05);
  });

  it('GGUF f32 exactly, f16/bf16/q8_0 to their precision', () => {
    const f32 = loadModelBytes(concatChunks(ggufChunks(weights)), 'model.gguf');
    expect(f32.format).toBe('gguf');
    expect(f32.weights.config.ropeTheta).toBe(weights.config.ropeTheta);
    expect(f32.weights.config.normEps).toBeCloseTo(weights.config.normEps!, 12);
    check(f32, weights.config.normEps === 1e-6 ? 1e-6 : 0); // epsilon stored as f32
    const f16 = check(loadModelBytes(concatChunks(ggufChunks(weights, { dtype: 'F16' }))), 0.01);
    const bf16 = check(loadModelBytes(concatChunks(ggufChunks(weights, { dtype: 'BF16' }))), 0.05);
    const q8 = check(loadModelBytes(concatChunks(ggufChunks(weights, { dtype: 'Q8_0' }))), 0.05);
    expect(f16).toBeGreaterThan(0);
    expect(bf16).toBeGreaterThan(f16);
    expect(q8).toBeGreaterThan(0);
  });

  it('Hugging Face folders: f32 single file and shards exactly, f16/bf16 to their precision', () => {
    const single = loadModelFolder(memoryFolder('hf', hfLlamaFolderBytes(weights)));
    expect(single.format).toBe('safetensors');
    check(single, 0);
    check(loadModelFolder(memoryFolder('hf-sharded', hfLlamaFolderBytes(weights, 'F32', 3))), 0);
    check(loadModelFolder(memoryFolder('hf16', hfLlamaFolderBytes(weights, 'F16'))), 0.01);
    check(loadModelFolder(memoryFolder('hfbf16', hfLlamaFolderBytes(weights, 'BF16'))), 0.05);
  });
});

describe('parameter counts', () => {
  it('counts a shared classifier once', () => {
    const s = loadModelBytes(concatChunks(llama2cLegacyChunks(shared)));
    const p = loadModelBytes(concatChunks(llama2cLegacyChunks(separate)));
    const { vocabSize, dim, kvDim, hiddenDim, nLayers } = shared.config;
    expect(s.parameterCount).toBe(vocabSize * dim + nLayers * (2 * dim + 2 * dim * dim + 2 * dim * kvDim + 3 * dim * hiddenDim) + dim);
    expect(p.parameterCount - s.parameterCount).toBe(vocabSize * dim);
  });
});
