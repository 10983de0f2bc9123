import { describe, expect, it } from 'vitest';
import { checkpointByteLength, configFromHeader, parseLlama2cCheckpoint } from './checkpoint.ts';
import { ModelFormatError } from './model-format-error.ts';
import { readModelFile } from './test-model-files.ts';

/** A synthetic checkpoint whose float i (after the header) has the value i. */
function synthetic(header: number[]): Uint8Array {
  const config = configFromHeader(header);
  const bytes = new Uint8Array(checkpointByteLength(config));
  const view = new DataView(bytes.buffer);
  header.forEach((v, i) => view.setInt32(i * 4, v, true));
  for (let i = 0, o = 28; o < bytes.length; i++, o += 4) view.setFloat32(o, i, true);
  return bytes;
}

function formatError(fn: () => unknown): ModelFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    return e as ModelFormatError;
  }
  throw new Error('expected a ModelFormatError');
}

describe('parseLlama2cCheckpoint', () => {
  const bytes = readModelFile('stories260K.bin');

  it('reads the stories260K header and tensor shapes', () => {
    const w = parseLlama2cCheckpoint(bytes);
    expect(w.config).toEqual({
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      headSize: 8,
      kvDim: 32,
      sharedClassifier: true,
    });
    expect(w.tokenEmbedding.length).toBe(512 * 64);
    expect(w.layers).toHaveLength(5);
    expect(w.layers[4].wk.length).toBe(32 * 64);
    expect(w.layers[4].w2.length).toBe(64 * 172);
    expect(w.wcls).toBe(w.tokenEmbedding);
    expect(checkpointByteLength(w.config)).toBe(bytes.length);
  });

  it('places every tensor at its llama2.c offset, with a separate classifier when vocab_size < 0', () => {
    const header = [4, 6, 2, 2, 1, -5, 3];
    const w = parseLlama2cCheckpoint(synthetic(header));
    const c = w.config;
    expect(c).toMatchObject({ vocabSize: 5, headSize: 2, kvDim: 2, sharedClassifier: false });
    // tensor sizes in floats: emb 20, rms_att 8, wq 32, wk 16, wv 16, wo 32, rms_ffn 8, w1 48, w2 48, w3 48, final 4, freqs 3+3
    expect(w.layers[0].rmsAtt[0]).toBe(20);
    expect(w.layers[1].wq[0]).toBe(28 + 16);
    expect(w.layers[1].wk[0]).toBe(60 + 8);
    expect(w.layers[0].wo[0]).toBe(92);
    expect(w.layers[1].w3[0]).toBe(228 + 24);
    expect(w.rmsFinal[0]).toBe(276);
    expect(w.wcls[0]).toBe(286);
    expect(w.wcls.length).toBe(20);
    expect(checkpointByteLength(c)).toBe(28 + 4 * 306);
  });

  it('accepts a buffer at an unaligned offset', () => {
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const w = parseLlama2cCheckpoint(shifted.subarray(1));
    expect(w.rmsFinal).toEqual(parseLlama2cCheckpoint(bytes).rmsFinal);
  });

  it('reports truncated files and trailing bytes with expected vs got byte counts', () => {
    const cut = formatError(() => parseLlama2cCheckpoint(bytes.subarray(0, bytes.length - 4)));
    expect(cut).toMatchObject({ code: 'truncated', expected: 1056540, got: 1056536 });
    expect(formatError(() => parseLlama2cCheckpoint(bytes.subarray(0, 10)))).toMatchObject({ code: 'truncated', expected: 28, got: 10 });
    const longer = new Uint8Array(bytes.length + 8);
    longer.set(bytes);
    const trailing = formatError(() => parseLlama2cCheckpoint(longer));
    expect(trailing).toMatchObject({ code: 'size_mismatch', expected: 1056540, got: 1056548 });
    expect(trailing.message).toContain('8 trailing bytes');
  });

  it.each([
    ['zero dim', [0, 172, 5, 8, 4, 512, 512]],
    ['negative layers', [64, 172, -5, 8, 4, 512, 512]],
    ['dim not divisible by heads', [64, 172, 5, 7, 7, 512, 512]],
    ['heads not divisible by kv heads', [64, 172, 5, 8, 3, 512, 512]],
    ['odd head size', [24, 172, 5, 8, 4, 512, 512]],
    ['absurd vocab', [64, 172, 5, 8, 4, 0x7fffffff, 512]],
  ])('rejects a header with %s', (_, header) => {
    const bytes = new Uint8Array(28);
    header.forEach((v, i) => new DataView(bytes.buffer).setInt32(i * 4, v, true));
    expect(formatError(() => parseLlama2cCheckpoint(bytes)).code).toBe('bad_header');
  });
});
