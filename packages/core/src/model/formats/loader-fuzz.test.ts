import { describe, expect, it } from 'vitest';
import { isFheLlmError } from '../../errors/fhe-error.ts';
import { syntheticLlama } from '../synthetic-model.ts';
import { ggufChunks } from './gguf-writer.ts';
import { hfLlamaFolderBytes } from './hf-writer.ts';
import { llama2cLegacyChunks, llama2cV1Chunks, llama2cV2Chunks } from './llama2c-writer.ts';
import { loadModelBytes, loadModelFolder, memoryFolder } from './load-model.ts';
import { concatChunks } from './tensor-encoding.ts';

// Every byte of a model file is hostile: truncations and corrupted bytes
// (mostly in the headers, where sizes and counts live) either load or fail
// with a ModelFileError, never another exception, a hang or a huge allocation.

const weights = syntheticLlama('tiny', { seed: 2, overrides: { nLayers: 1, vocabSize: 300 } });
const vocab = { model: 'llama' as const, tokens: Array.from({ length: 300 }, (_, i) => `t${i}`), scores: Array.from({ length: 300 }, (_, i) => -i) };

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

function mutations(bytes: Uint8Array, count: number, seed: number): Uint8Array[] {
  const r = rng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 4 === 0) {
      out.push(bytes.slice(0, Math.floor(r() * bytes.length)));
      continue;
    }
    const m = bytes.slice();
    const header = Math.min(m.length, 2048);
    for (let k = 0; k < 1 + Math.floor(r() * 4); k++) {
      const at = r() < 0.8 ? Math.floor(r() * header) : Math.floor(r() * m.length);
      m[at] = r() < 0.5 ? 0xff : Math.floor(r() * 256);
    }
    out.push(m);
  }
  return out;
}

function expectTypedOrOk(load: () => unknown): 'ok' | string {
  try {
    load();
    return 'ok';
  } catch (e) {
    if (!isFheLlmError(e, 'ModelFileError')) throw e;
    return (e as { code: string }).code;
  }
}

describe.each([
  ['llama2.c legacy', concatChunks(llama2cLegacyChunks(weights))],
  ['llama2.c v1', concatChunks(llama2cV1Chunks(weights))],
  ['llama2.c v2', concatChunks(llama2cV2Chunks(weights))],
  ['GGUF f32 with vocabulary', concatChunks(ggufChunks(weights, { vocab }))],
  ['GGUF q8_0', concatChunks(ggufChunks(weights, { dtype: 'Q8_0' }))],
])('%s', (_name, bytes) => {
  it('200 truncated or corrupted copies load or fail with ModelFileError', () => {
    const codes = new Set(mutations(bytes, 200, bytes.length).map((m) => expectTypedOrOk(() => loadModelBytes(m, 'fuzz.bin'))));
    expect(codes.has('truncated')).toBe(true);
  });
});

describe('Hugging Face safetensors', () => {
  it('200 truncated or corrupted model.safetensors load or fail with ModelFileError', () => {
    const files = hfLlamaFolderBytes(weights);
    const codes = new Set(
      mutations(files.get('model.safetensors')!, 200, 9).map((m) => {
        const f = new Map(files);
        f.set('model.safetensors', m);
        return expectTypedOrOk(() => loadModelFolder(memoryFolder('fuzz', f)));
      }),
    );
    expect(codes.size).toBeGreaterThan(1);
  });
});
