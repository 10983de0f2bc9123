import { describe, expect, it } from 'vitest';
import { ModelFormatError } from './model-format-error.ts';
import { loadStories260K, readModelFile } from './test-model-files.ts';
import { TokenTextDecoder } from './token-text-decoder.ts';
import { parseLlama2cTokenizer } from './tokenizer.ts';

const { tokenizer, cases } = loadStories260K();

// Non-ASCII text with codepoints outside the 512-token vocabulary (byte fallback)
// and the ids llama2.c's encode() printed for it.
const UNICODE_PROMPT = 'Café ☕ naïve 😀 über straße – “quoted” 日本語 tab\tx';
const UNICODE_IDS = [
  1, 410, 457, 412, 431, 485, 410, 229, 155, 152, 297, 412, 198, 178, 360, 410, 243, 162, 155, 131, 410, 198, 191, 430, 285, 349, 420, 412, 198, 162, 411, 410, 476, 410, 465, 456, 425, 309, 266, 466,
  410, 233, 154, 168, 233, 159, 175, 235, 173, 161, 259, 412, 430, 12, 444,
];

describe('Tokenizer.encode', () => {
  it.each(cases.map((c) => [JSON.stringify(c.prompt), c] as const))('encodes %s like reference.json', (_, c) => {
    expect(tokenizer.encode(c.prompt, { bos: true, eos: false })).toEqual(c.prompt_token_ids);
  });

  it('matches llama2.c on non-ASCII text (codepoint lookup and byte fallback)', () => {
    expect(tokenizer.encode(UNICODE_PROMPT)).toEqual(UNICODE_IDS);
  });

  it('adds BOS/EOS only when asked and the dummy space only for non-empty text', () => {
    expect(tokenizer.encode('', { bos: false, eos: false })).toEqual([]);
    expect(tokenizer.encode('', { bos: true, eos: true })).toEqual([1, 2]);
    const once = tokenizer.encode('Once', { bos: false, eos: true });
    expect(once).toEqual([403, 2]);
    expect(tokenizer.pieces[403]).toEqual(new TextEncoder().encode(' Once'));
  });
});

describe('Tokenizer.decode', () => {
  it('strips the leading space after BOS and turns <0xXX> into the raw byte', () => {
    expect(tokenizer.decode(1, 403)).toBe('Once');
    expect(tokenizer.decode(261, 403)).toBe(' Once');
    expect(tokenizer.decode(378, 13)).toBe('\n'); // <0x0A>
    expect(tokenizer.decodeBytes(1, 3 + 0xe6)).toEqual(Uint8Array.of(0xe6));
  });

  it.each(cases.map((c) => [JSON.stringify(c.prompt), c] as const))('decodeAll of BOS + next_token_ids reproduces the text for %s', (_, c) => {
    expect(tokenizer.decodeAll([1, ...c.next_token_ids])).toBe(c.text);
  });

  it('reassembles characters split over byte tokens', () => {
    expect(tokenizer.decodeAll(UNICODE_IDS)).toBe(UNICODE_PROMPT);
    // One token at a time, as a UI would stream them.
    const stream = new TokenTextDecoder(tokenizer);
    const pieces = UNICODE_IDS.map((t) => stream.push(t));
    expect(pieces.join('') + stream.flush()).toBe(UNICODE_PROMPT);
    expect(pieces).toContain(''); // bytes of an incomplete character wait for the rest
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tokenizer.decode(1, 512)).toThrow(RangeError);
  });
});

describe('parseLlama2cTokenizer', () => {
  const bytes = readModelFile('tok512.bin');

  it('reads 512 scored pieces', () => {
    expect(tokenizer.vocabSize).toBe(512);
    expect(tokenizer.maxTokenLength).toBe(7);
    expect(new TextDecoder().decode(tokenizer.pieces[1])).toBe('\n<s>\n');
  });

  it('reports truncation and a vocabulary size that does not fit the file', () => {
    const cut = (() => {
      try {
        parseLlama2cTokenizer(bytes.subarray(0, bytes.length - 1), 512);
      } catch (e) {
        return e;
      }
    })();
    expect(cut).toBeInstanceOf(ModelFormatError);
    expect(cut).toMatchObject({ code: 'truncated', expected: bytes.length, got: bytes.length - 1 });
    expect(() => parseLlama2cTokenizer(bytes, 500)).toThrow(expect.objectContaining({ code: 'size_mismatch', got: bytes.length }));
  });
});
