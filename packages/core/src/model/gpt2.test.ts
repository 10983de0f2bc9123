import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadGpt2Folder, loadModelFolder, memoryFolder } from './formats/load-model.ts';
import { hfLlamaFolderBytes } from './formats/hf-writer.ts';
import { Gpt2Transformer } from './gpt2.ts';
import { ggufGpt2Chunks, loadGgufGpt2 } from './formats/gguf-gpt2.ts';
import { memorySource } from './formats/byte-source.ts';
import { concatChunks } from './formats/tensor-encoding.ts';
import { loadModelBytes } from './formats/load-model.ts';
import { syntheticLlama } from './synthetic-model.ts';

// A tiny random GPT-2 in transformers' layout, with logits from an
// independent NumPy forward pass (test/fixtures/gpt2-tiny/make_fixture.py).

const dir = new URL('../../test/fixtures/gpt2-tiny/', import.meta.url);
const files = new Map(['config.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(new URL(f, dir)))]));
const reference = JSON.parse(readFileSync(new URL('reference.json', dir), 'utf8')) as { prompt: number[]; tokens: number[]; logits: number[][] };

describe('GPT-2 from a Hugging Face folder', () => {
  const model = loadGpt2Folder(memoryFolder('gpt2-tiny', files));

  it('reads the config and counts parameters', () => {
    expect(model.weights.config).toMatchObject({ dim: 32, nLayers: 2, nHeads: 4, vocabSize: 300, seqLen: 64, hiddenDim: 128, headSize: 8 });
    let floats = 0;
    const header = JSON.parse(new TextDecoder().decode(files.get('model.safetensors')!.subarray(8, 8 + Number(new DataView(files.get('model.safetensors')!.buffer).getBigUint64(0, true)))));
    for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') floats += (v as { shape: number[] }).shape.reduce((a, b) => a * b, 1);
    expect(model.parameterCount).toBe(floats);
  });

  it('the plaintext forward pass matches the NumPy reference logits at every position', () => {
    const t = new Gpt2Transformer(model.weights);
    reference.tokens.forEach((token, pos) => {
      const logits = t.forward(token, pos);
      let err = 0;
      logits.forEach((v, i) => {
        err = Math.max(err, Math.abs(v - reference.logits[pos][i]));
      });
      expect(err).toBeLessThan(1e-4);
    });
  });

  it('greedy decoding reproduces the reference continuation', () => {
    const t = new Gpt2Transformer(model.weights);
    const out = [...reference.prompt];
    for (let pos = 0; out.length < reference.tokens.length; pos++) {
      const logits = t.forward(out[pos], pos);
      if (pos >= reference.prompt.length - 1) out.push(logits.indexOf(Math.max(...logits)));
    }
    expect(out).toEqual(reference.tokens);
  });

  it('the LLaMA loader refuses GPT-2 by name, and the GPT-2 loader refuses LLaMA', () => {
    expect(() => loadModelFolder(memoryFolder('gpt2-tiny', files))).toThrow(expect.objectContaining({ name: 'ModelFileError', code: 'unsupported_architecture', got: 'GPT2LMHeadModel' }));
    const llama = hfLlamaFolderBytes(syntheticLlama('tiny', { overrides: { nLayers: 1 } }));
    expect(() => loadGpt2Folder(memoryFolder('llama', llama))).toThrow(expect.objectContaining({ code: 'unsupported_architecture', got: 'LlamaForCausalLM' }));
  });
});

describe('GPT-2 in GGUF', () => {
  const hf = loadGpt2Folder(memoryFolder('gpt2-tiny', files));
  const logitsOf = (weights: typeof hf.weights) => {
    const t = new Gpt2Transformer(weights);
    return reference.tokens.map((token, pos) => t.forward(token, pos));
  };
  const expected = logitsOf(hf.weights);
  const maxErr = (got: Float32Array[]) => Math.max(...got.map((row, p) => Math.max(...row.map((v, i) => Math.abs(v - expected[p][i])))));

  it('F32 gives the same logits as the Hugging Face folder, Q8_0 to its precision', () => {
    const f32 = loadGgufGpt2(memorySource(concatChunks(ggufGpt2Chunks(hf.weights)), 'gpt2.gguf'));
    expect(f32.format).toBe('gguf');
    expect(f32.parameterCount).toBe(hf.parameterCount);
    expect(maxErr(logitsOf(f32.weights))).toBe(0);
    const q8 = loadGgufGpt2(memorySource(concatChunks(ggufGpt2Chunks(hf.weights, 'Q8_0'))));
    // Relative to the largest logit, as for the LLaMA formats (int8 with one scale per 32 values).
    const largest = Math.max(...expected.map((row) => Math.max(...row.map(Math.abs))));
    const err = maxErr(logitsOf(q8.weights)) / largest;
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.05);
  });

  it('the LLaMA loader refuses a gpt2 GGUF by name', () => {
    expect(() => loadModelBytes(concatChunks(ggufGpt2Chunks(hf.weights)), 'gpt2.gguf')).toThrow(expect.objectContaining({ name: 'ModelFileError', code: 'unsupported_architecture', got: 'gpt2' }));
  });
});
