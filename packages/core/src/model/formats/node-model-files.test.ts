import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Float32Transformer } from '../forward.ts';
import { syntheticLlama } from '../synthetic-model.ts';
import { parseTokenizerFile } from '../tokenizer-file.ts';
import { detectModelFormat, loadModelPath } from './node-model-files.ts';
import { WRITE_FORMATS, writeModel } from './node-write-model.ts';

// Every format written to disk by the generator loads back through the file
// loader (format detection, positioned reads, folders) with the same logits.

const dir = mkdtempSync(join(tmpdir(), 'fhe-llm-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const weights = syntheticLlama('tiny', { seed: 5, separateClassifier: true });
const first = new Float32Transformer(weights).forward(1, 0);

const TOLERANCE: Record<string, number> = { 'llama2c-v2': 0.05, 'gguf-f16': 0.01, 'gguf-bf16': 0.05, 'gguf-q8_0': 0.05, 'hf-f16': 0.01, 'hf-bf16': 0.05 };

describe.each(WRITE_FORMATS.map((f) => [f]))('%s on disk', (format) => {
  it('detects, loads and reproduces the logits; the tokenizer it carries parses', () => {
    const out = join(dir, format.startsWith('hf') ? format : `${format}/model.bin`);
    const paths = writeModel(weights, format, out);
    const model = loadModelPath(paths.model);
    expect(detectModelFormat(paths.model)).toBe(format.startsWith('hf') ? 'safetensors' : format.startsWith('gguf') ? 'gguf' : format === 'llama2c' ? 'llama2c' : 'llama2c-v1');
    expect(model.source).toBe(paths.model);
    const logits = new Float32Transformer(model.weights).forward(1, 0);
    let err = 0;
    let max = 0;
    first.forEach((v, i) => {
      err = Math.max(err, Math.abs(v - logits[i]));
      max = Math.max(max, Math.abs(v));
    });
    expect(err / max).toBeLessThanOrEqual(TOLERANCE[format] ?? 0);
    // GGUF and HF folders carry their vocabulary; llama2.c checkpoints get one beside them.
    const tokenizerBytes = model.tokenizer?.bytes;
    if (format.startsWith('gguf') || format.startsWith('hf')) expect(tokenizerBytes).toBeDefined();
    const tok = parseTokenizerFile(tokenizerBytes ?? new Uint8Array(readFileSync(paths.tokenizer!)), 512);
    expect(tok.decodeAll(tok.encode('Once upon a time'))).toBe('Once upon a time');
  });
});

describe('paths that are not models', () => {
  it('a missing path and an empty folder are unknown formats', () => {
    expect(() => loadModelPath(join(dir, 'nope'))).toThrow(expect.objectContaining({ name: 'ModelFileError', code: 'unknown_format' }));
    expect(() => loadModelPath(dir)).toThrow(expect.objectContaining({ name: 'ModelFileError', code: 'unknown_format' }));
  });
});
