import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import type { EncodeOptions } from './tokenizer.ts';
import { ModelFormatError } from './model-format-error.ts';

// Hugging Face tokenizer.json, encoded by @huggingface/tokenizers (pure JS,
// no network; the same code runs in Node and the browser). Decoding is per
// token, as the streaming decoders need: each id maps to its exact bytes.

const utf8 = new TextEncoder();

/** GPT-2's byte-level alphabet: printable code points standing for the 256 bytes. */
function byteLevelDecoder(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = [...bytes];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + n++);
    }
  }
  return new Map(bytes.map((b, i) => [String.fromCodePoint(chars[i]), b]));
}

function usesByteLevel(json: Record<string, unknown>): boolean {
  return /"type":"ByteLevel"/.test(JSON.stringify([json.pre_tokenizer, json.decoder]));
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** A tokenizer.json vocabulary (SentencePiece-style BPE as LLaMA's, or GPT-2's byte-level BPE). */
export class HfTokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly byteLevel: boolean;
  readonly #lib: HfLibTokenizer;
  readonly #bytes: Uint8Array[];
  readonly #bytesAfterBos: Uint8Array[];

  constructor(json: Record<string, unknown>, vocabSize: number) {
    try {
      this.#lib = new HfLibTokenizer(json, {});
    } catch (e) {
      throw new ModelFormatError('bad_header', `tokenizer.json: ${(e as Error).message}`);
    }
    this.byteLevel = usesByteLevel(json);
    const id = (...names: string[]) => names.map((n) => this.#lib.token_to_id(n)).find((v) => v !== undefined);
    const bos = id('<s>', '<|begin_of_text|>', '<|endoftext|>', '<|im_start|>');
    const eos = id('</s>', '<|end_of_text|>', '<|endoftext|>', '<|im_end|>');
    if (bos === undefined || eos === undefined) throw new ModelFormatError('bad_token', 'tokenizer.json: no BOS/EOS token (<s>, </s> or <|endoftext|>)');
    this.bosId = bos;
    this.eosId = eos;
    this.vocabSize = vocabSize;
    const special = new Set<number>();
    const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Array<{ id?: number; special?: boolean }>) : [];
    for (const t of added) if (t.special && typeof t.id === 'number') special.add(t.id);
    const toBytes = byteLevelDecoder();
    this.#bytes = [];
    this.#bytesAfterBos = [];
    for (let i = 0; i < vocabSize; i++) {
      const piece = this.#lib.id_to_token(i);
      let bytes: Uint8Array;
      if (piece === undefined || special.has(i)) bytes = new Uint8Array(0);
      else if (this.byteLevel) bytes = Uint8Array.from([...piece].map((ch) => toBytes.get(ch) ?? 0x3f));
      else {
        const byte = BYTE_PIECE.exec(piece);
        bytes = byte ? Uint8Array.of(parseInt(byte[1], 16)) : utf8.encode(piece.replaceAll('\u2581', ' '));
      }
      this.#bytes.push(bytes);
      // SentencePiece's decoder drops the dummy-prefix space of the first word.
      this.#bytesAfterBos.push(!this.byteLevel && bytes[0] === 0x20 ? bytes.subarray(1) : bytes);
    }
  }

  encode(text: string, options: EncodeOptions = { bos: true, eos: false }): number[] {
    const ids = text === '' ? [] : this.#lib.encode(text, { add_special_tokens: false }).ids;
    return [...(options.bos ? [this.bosId] : []), ...ids, ...(options.eos ? [this.eosId] : [])];
  }

  decodeBytes(prevToken: number, token: number): Uint8Array {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(`token id ${token} is outside the vocabulary [0, ${this.vocabSize})`);
    }
    return prevToken === this.bosId ? this.#bytesAfterBos[token] : this.#bytes[token];
  }

  decode(prevToken: number, token: number): string {
    return new TextDecoder().decode(this.decodeBytes(prevToken, token));
  }

  decodeAll(tokens: readonly number[]): string {
    const decoder = new TextDecoder();
    let text = '';
    let prev = -1;
    for (const token of tokens) {
      if (token !== this.bosId && token !== this.eosId) text += decoder.decode(this.decodeBytes(prev, token), { stream: true });
      prev = token;
    }
    return text + decoder.decode();
  }
}

/** Parses tokenizer.json bytes; the model's vocabulary size bounds the ids. */
export function parseHfTokenizer(bytes: Uint8Array, vocabSize: number): HfTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ModelFormatError('bad_header', `tokenizer.json is not JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || typeof (json as { model?: unknown }).model !== 'object') {
    throw new ModelFormatError('bad_header', 'tokenizer.json has no model object');
  }
  return new HfTokenizer(json as Record<string, unknown>, vocabSize);
}
