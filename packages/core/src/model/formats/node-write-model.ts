// Node only: writes a LLaMA model (and a tokenizer it can use) to disk in any
// supported format, chunk by chunk, so a 135M-parameter model is never
// encoded whole in memory.
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LlamaWeights } from '../checkpoint.ts';
import type { Gpt2Weights } from '../gpt2.ts';
import { ggufGpt2Chunks } from './gguf-gpt2.ts';
import { syntheticByteLevelVocab } from '../synthetic-vocab.ts';
import { parseLlama2cTokenizer } from '../tokenizer.ts';
import { byteLevelTokenizerJson } from './gguf-vocab.ts';
import { ggufChunks, type GgufVocab } from './gguf-writer.ts';
import { hfLlamaFiles } from './hf-writer.ts';
import { llama2cLegacyChunks, llama2cV1Chunks, llama2cV2Chunks } from './llama2c-writer.ts';
import { sentencePieceTokenizerJson } from './sentencepiece-tokenizer-json.ts';
import type { TensorDtype } from './tensor-encoding.ts';

export const WRITE_FORMATS = ['llama2c', 'llama2c-v1', 'llama2c-v2', 'gguf', 'gguf-f16', 'gguf-bf16', 'gguf-q8_0', 'hf', 'hf-f16', 'hf-bf16', 'hf-sharded'] as const;
export type WriteFormat = (typeof WRITE_FORMATS)[number];

const REPO_MODELS = new URL('../../../../../models/', import.meta.url);
/** llama2.c tokenizers in the repository, by vocabulary size. */
const LLAMA2C_TOKENIZERS: Record<number, URL> = {
  512: new URL('stories260K/tok512.bin', REPO_MODELS),
  32000: new URL('llama2c-tokenizer/tokenizer.bin', REPO_MODELS),
};

/** A vocabulary for `vocabSize`: llama2.c's SentencePiece one when we have it, else a synthetic byte-level one. */
export function vocabularyFor(vocabSize: number): { llama2cBin?: Uint8Array; tokenizerJson: Record<string, unknown>; gguf: GgufVocab } {
  const known = LLAMA2C_TOKENIZERS[vocabSize];
  if (known) {
    const bin = new Uint8Array(readFileSync(known));
    const tok = parseLlama2cTokenizer(bin, vocabSize);
    const tokens = tok.pieces.map((p) => new TextDecoder().decode(p).replaceAll(' ', '\u2581'));
    return { llama2cBin: bin, tokenizerJson: sentencePieceTokenizerJson(tok), gguf: { model: 'llama', tokens, scores: [...tok.scores], bosId: 1, eosId: 2 } };
  }
  const v = syntheticByteLevelVocab(vocabSize);
  const eos = vocabSize - 1;
  return { tokenizerJson: byteLevelTokenizerJson(v.tokens, v.merges, v.types), gguf: { model: 'gpt2', tokens: v.tokens, merges: v.merges, tokenTypes: v.types, bosId: eos, eosId: eos } };
}

function writeChunks(path: string, chunks: Iterable<Uint8Array>): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    for (const c of chunks) writeSync(fd, c);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `weights` as `format` at `out` (a file, or a folder for hf*), plus a
 * tokenizer: embedded in GGUF, tokenizer.json in Hugging Face folders, and a
 * tokenizer file beside llama2.c checkpoints. Returns the paths written.
 */
export function writeModel(weights: LlamaWeights, format: WriteFormat, out: string): { model: string; tokenizer?: string } {
  const vocab = vocabularyFor(weights.config.vocabSize);
  if (format.startsWith('llama2c')) {
    const chunks = format === 'llama2c' ? llama2cLegacyChunks(weights) : format === 'llama2c-v1' ? llama2cV1Chunks(weights) : llama2cV2Chunks(weights);
    writeChunks(out, chunks);
    const tokenizer = vocab.llama2cBin ? join(dirname(out), 'tokenizer.bin') : join(dirname(out), 'tokenizer.json');
    writeChunks(tokenizer, [vocab.llama2cBin ?? new TextEncoder().encode(JSON.stringify(vocab.tokenizerJson))]);
    return { model: out, tokenizer };
  }
  if (format.startsWith('gguf')) {
    const dtype = (format === 'gguf' ? 'F32' : format.slice(5).toUpperCase()) as TensorDtype;
    writeChunks(out, ggufChunks(weights, { dtype, vocab: vocab.gguf }));
    return { model: out };
  }
  const dtype = format === 'hf-f16' ? 'F16' : format === 'hf-bf16' ? 'BF16' : 'F32';
  for (const [name, chunks] of hfLlamaFiles(weights, dtype, format === 'hf-sharded' ? 3 : 1)) writeChunks(join(out, name), chunks());
  writeChunks(join(out, 'tokenizer.json'), [new TextEncoder().encode(JSON.stringify(vocab.tokenizerJson))]);
  return { model: out, tokenizer: join(out, 'tokenizer.json') };
}

/**
 * Writes GPT-2 weights as a GGUF file of architecture gpt2 (matrices in
 * `dtype`), with a byte-level tokenizer.json beside it, as the relay's
 * `--model id=PATH:TOKENIZER` takes them.
 */
export function writeGpt2Model(weights: Gpt2Weights, out: string, dtype: TensorDtype = 'F32'): { model: string; tokenizer: string } {
  writeChunks(out, ggufGpt2Chunks(weights, dtype));
  const tokenizer = join(dirname(out), 'tokenizer.json');
  writeChunks(tokenizer, [new TextEncoder().encode(JSON.stringify(vocabularyFor(weights.config.vocabSize).tokenizerJson))]);
  return { model: out, tokenizer };
}
