import { describe, expect, it } from 'vitest';
import { isFheLlmError } from '../../errors/fhe-error.ts';
import { syntheticLlama } from '../synthetic-model.ts';
import { ggufChunks } from './gguf-writer.ts';
import { hfLlamaFolderBytes } from './hf-writer.ts';
import { llama2cLegacyChunks, llama2cV1Chunks, llama2cV2Chunks } from './llama2c-writer.ts';
import { loadModelBytes, loadModelFolder, memoryFolder } from './load-model.ts';
import { concatChunks } from './tensor-encoding.ts';

// Corrupt, truncated or unsupported files fail with a ModelFileError that names
// the file, the tensor at fault and what was expected.

const weights = syntheticLlama('tiny', { seed: 3, overrides: { nLayers: 1 } });

function failure(load: () => unknown): { code: string; file: string; tensor?: string; expected?: unknown; got?: unknown; message: string } {
  try {
    load();
  } catch (e) {
    expect(isFheLlmError(e, 'ModelFileError')).toBe(true);
    return e as never;
  }
  throw new Error('expected a ModelFileError');
}

/** Byte offset of a GGUF tensor's type field (after its name, n_dims and dims). */
function ggufTypeOffset(bytes: Uint8Array, tensor: string, nDims: number): number {
  const name = new TextEncoder().encode(tensor);
  for (let i = 0; i < bytes.length - name.length; i++) {
    if (name.every((b, j) => bytes[i + j] === b) && bytes[i + name.length] === nDims) return i + name.length + 4 + 8 * nDims;
  }
  throw new Error(`no tensor ${tensor}`);
}

describe('llama2.c files', () => {
  it('truncated legacy, version 1 and version 2 files say how many bytes they need', () => {
    for (const [name, chunks] of [
      ['legacy.bin', llama2cLegacyChunks],
      ['v1.bin', llama2cV1Chunks],
      ['v2.bin', llama2cV2Chunks],
    ] as const) {
      const full = concatChunks(chunks(weights));
      const e = failure(() => loadModelBytes(full.subarray(0, full.length - 10), name));
      expect(e.code).toBe('truncated');
      expect(e.file).toBe(name);
      expect(e.expected).toBe(full.length);
      expect(e.got).toBe(full.length - 10);
    }
  });

  it('an unknown export version and a nonsense header are refused', () => {
    const v1 = concatChunks(llama2cV1Chunks(weights));
    new DataView(v1.buffer).setInt32(4, 7, true);
    expect(failure(() => loadModelBytes(v1, 'v7.bin'))).toMatchObject({ code: 'bad_header', got: 7 });
    const legacy = concatChunks(llama2cLegacyChunks(weights));
    new DataView(legacy.buffer).setInt32(12, 5, true); // n_heads 5 does not divide dim 64
    expect(failure(() => loadModelBytes(legacy, 'heads.bin')).code).toBe('bad_header');
    expect(failure(() => loadModelBytes(new Uint8Array(3), 'tiny.bin')).code).toBe('truncated');
  });
});

describe('GGUF files', () => {
  const gguf = () => concatChunks(ggufChunks(weights));

  it('an unsupported tensor type is refused by name', () => {
    const bytes = gguf();
    new DataView(bytes.buffer).setUint32(ggufTypeOffset(bytes, 'blk.0.attn_q.weight', 2), 2, true); // Q4_0
    const e = failure(() => loadModelBytes(bytes, 'q4.gguf'));
    expect(e).toMatchObject({ code: 'unsupported_dtype', file: 'q4.gguf', tensor: 'blk.0.attn_q.weight', got: 'Q4_0' });
    expect(e.message).toContain('Q4_0');
  });

  it('an unknown architecture is refused', () => {
    const e = failure(() => loadModelBytes(concatChunks(ggufChunks(weights, { architecture: 'falcon' })), 'falcon.gguf'));
    expect(e).toMatchObject({ code: 'unsupported_architecture', got: 'falcon' });
  });

  it('truncated headers and truncated tensor data', () => {
    const bytes = gguf();
    expect(failure(() => loadModelBytes(bytes.subarray(0, 100), 'short.gguf')).code).toBe('truncated');
    const e = failure(() => loadModelBytes(bytes.subarray(0, bytes.length - 64), 'cut.gguf'));
    expect(e).toMatchObject({ code: 'truncated', file: 'cut.gguf', tensor: 'output_norm.weight' });
  });

  it('a wrong shape names the tensor and both shapes', () => {
    const bytes = gguf();
    // token_embd dims [64, 512] -> [64, 256]: vocabulary and embedding disagree.
    const at = ggufTypeOffset(bytes, 'token_embd.weight', 2) - 8;
    new DataView(bytes.buffer).setBigUint64(at, 256n, true);
    expect(failure(() => loadModelBytes(bytes, 'shape.gguf'))).toMatchObject({ code: 'bad_shape', tensor: 'token_embd.weight', expected: [64, 512], got: [64, 256] });
  });
});

describe('Hugging Face folders', () => {
  const files = () => hfLlamaFolderBytes(weights);

  it('an unknown architecture is refused', () => {
    const f = files();
    f.set('config.json', new TextEncoder().encode(JSON.stringify({ architectures: ['MistralForCausalLM'] })));
    expect(failure(() => loadModelFolder(memoryFolder('mistral', f)))).toMatchObject({ code: 'unsupported_architecture', file: 'mistral/config.json', got: 'MistralForCausalLM' });
  });

  it('an unsupported dtype is refused by name', () => {
    const f = files();
    const st = f.get('model.safetensors')!;
    const text = new TextDecoder().decode(st);
    const patched = new TextEncoder().encode(text.replace('"dtype":"F32","shape":[64]', '"dtype":"I32","shape":[64]'));
    f.set('model.safetensors', patched);
    expect(failure(() => loadModelFolder(memoryFolder('i32', f)))).toMatchObject({
      code: 'unsupported_dtype',
      file: 'i32/model.safetensors',
      tensor: 'model.layers.0.input_layernorm.weight',
      got: 'I32',
    });
  });

  it('a missing tensor, a truncated shard and a broken header', () => {
    const f = files();
    const st = f.get('model.safetensors')!;
    f.set('model.safetensors', st.subarray(0, st.length - 4));
    expect(failure(() => loadModelFolder(memoryFolder('cut', f)))).toMatchObject({ code: 'truncated', file: 'cut/model.safetensors' });
    const sharded = hfLlamaFolderBytes(weights, 'F32', 2);
    const index = JSON.parse(new TextDecoder().decode(sharded.get('model.safetensors.index.json')));
    delete index.weight_map['model.norm.weight'];
    sharded.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify(index)));
    expect(failure(() => loadModelFolder(memoryFolder('missing', sharded)))).toMatchObject({ code: 'missing_tensor', tensor: 'model.norm.weight' });
    const g = files();
    g.set('model.safetensors', Uint8Array.of(10, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode('not json!!')));
    expect(failure(() => loadModelFolder(memoryFolder('junk', g))).code).toBe('bad_header');
  });
});
