import { HfTokenizer, parseHfTokenizer } from './hf-tokenizer.ts';
import { parseLlama2cTokenizer, type EncodeOptions, type Tokenizer } from './tokenizer.ts';

/** What the client needs from a tokenizer, whichever file it came from. */
export interface TextTokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  encode(text: string, options?: EncodeOptions): number[];
  /** The bytes `token` prints after `prevToken` (BOS strips a SentencePiece leading space). */
  decodeBytes(prevToken: number, token: number): Uint8Array;
  decodeAll(tokens: readonly number[]): string;
}

/**
 * The token that ends generated text: llama2.c's convention for its own
 * tokenizer files (sampling BOS ends a story, as run.c does), the
 * tokenizer's EOS otherwise (e.g. GPT-2's <|endoftext|>, a chat model's </s>).
 */
export function stopTokenOf(tokenizer: TextTokenizer): number {
  return tokenizer instanceof HfTokenizer ? tokenizer.eosId : tokenizer.bosId;
}

/** The two tokenizer files a relay serves, told apart by their first byte. */
export function tokenizerKind(bytes: Uint8Array): 'hf-json' | 'llama2c-bin' {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return bytes[i] === 0x7b ? 'hf-json' : 'llama2c-bin'; // '{'
}

/** Parses llama2.c's tokenizer.bin or Hugging Face's tokenizer.json, whichever `bytes` is. */
export function parseTokenizerFile(bytes: Uint8Array, vocabSize: number): Tokenizer | HfTokenizer {
  return tokenizerKind(bytes) === 'hf-json' ? parseHfTokenizer(bytes, vocabSize) : parseLlama2cTokenizer(bytes, vocabSize);
}
