import { ModelFormatError } from './model-format-error.ts';

export const BOS_ID = 1;
export const EOS_ID = 2;
/** Byte-fallback tokens <0x00>..<0xFF> start after <unk>, <s>, </s>. */
const BYTE_TOKEN_OFFSET = 3;

export interface EncodeOptions {
  bos: boolean;
  eos: boolean;
}

// llama2.c works on C strings of bytes. We mirror that with "binary" JS strings
// (one char per byte, code 0..255) so lookups and concatenations compare bytes,
// exactly like strcmp/sprintf do, whatever the UTF-8 content.
function bytesToBinary(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** The piece as a C string would see it: up to the first NUL byte. */
function cString(bytes: Uint8Array): Uint8Array {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}

// sscanf(piece, "<0x%02hhX>", &b) == 1: the "<0x" prefix and 1-2 hex digits are enough.
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{1,2})/;

const utf8Encoder = new TextEncoder();

/** llama2.c's SentencePiece-style BPE tokenizer (tokenizer.bin format). */
export class Tokenizer {
  readonly vocabSize: number;
  readonly bosId = BOS_ID;
  readonly eosId = EOS_ID;
  readonly maxTokenLength: number;
  /** Raw piece bytes of each token (as stored in the file). */
  readonly pieces: readonly Uint8Array[];
  readonly scores: Float32Array;
  /** Each piece as a binary string, truncated at NUL like llama2.c's char* vocab. */
  readonly #vocab: string[];
  readonly #lookup = new Map<string, number>();
  /** decode() result bytes per token, with and without the after-BOS space strip. */
  readonly #decoded: Uint8Array[];
  readonly #decodedAfterBos: Uint8Array[];

  constructor(pieces: Uint8Array[], scores: Float32Array, maxTokenLength: number) {
    if (pieces.length !== scores.length) {
      throw new ModelFormatError('size_mismatch', 'tokenizer: pieces and scores differ in count', pieces.length, scores.length);
    }
    this.vocabSize = pieces.length;
    this.maxTokenLength = maxTokenLength;
    this.pieces = pieces;
    this.scores = scores;
    this.#vocab = pieces.map((p) => bytesToBinary(cString(p)));
    // llama2.c bsearches a vocabulary sorted by strcmp; with duplicate pieces its
    // choice is unspecified. We take the lowest id (tok512 has no duplicates).
    this.#vocab.forEach((piece, id) => {
      if (!this.#lookup.has(piece)) this.#lookup.set(piece, id);
    });
    this.#decoded = pieces.map((p) => Tokenizer.#pieceBytes(cString(p)));
    this.#decodedAfterBos = pieces.map((p) => {
      const c = cString(p);
      return Tokenizer.#pieceBytes(c[0] === 0x20 ? c.subarray(1) : c);
    });
  }

  static #pieceBytes(piece: Uint8Array): Uint8Array {
    const match = BYTE_PIECE.exec(bytesToBinary(piece));
    return match ? Uint8Array.of(parseInt(match[1], 16)) : piece;
  }

  /** Token id of a piece given as bytes (or a JS string, UTF-8 encoded), or -1. */
  lookup(piece: Uint8Array | string): number {
    const bytes = typeof piece === 'string' ? utf8Encoder.encode(piece) : piece;
    return this.#lookup.get(bytesToBinary(bytes)) ?? -1;
  }

  /**
   * llama2.c encode(): optional BOS, a dummy-prefix " " when text is non-empty,
   * one token per UTF-8 codepoint (or per byte, +3, when the codepoint is not in
   * the vocabulary), then greedy merges of the best-scoring adjacent pair.
   * Deviation: a NUL character is byte-encoded instead of ending the text.
   */
  encode(text: string, options: EncodeOptions = { bos: true, eos: false }): number[] {
    const bytes = utf8Encoder.encode(text);
    const tokens: number[] = [];
    if (options.bos) tokens.push(BOS_ID);
    if (bytes.length > 0) {
      const space = this.#lookup.get(' ');
      tokens.push(space ?? 0x20 + BYTE_TOKEN_OFFSET);
    }

    const isContinuation = (b: number | undefined): boolean => b !== undefined && (b & 0xc0) === 0x80;
    let start = 0; // start of the codepoint being collected in bytes[]
    for (let i = 0; i < bytes.length; i++) {
      if (!isContinuation(bytes[i])) start = i;
      // Collect at most 4 bytes per codepoint, like llama2.c's str_len < 4 guard.
      if (isContinuation(bytes[i + 1]) && i + 1 - start < 4) continue;
      const codepoint = bytes.subarray(start, i + 1);
      const id = this.#lookup.get(bytesToBinary(codepoint));
      if (id !== undefined) tokens.push(id);
      else for (const b of codepoint) tokens.push(b + BYTE_TOKEN_OFFSET);
      start = i + 1; // stray continuation bytes after a full buffer start afresh
    }

    // O(n^2) like the reference; prompts are short and exactness matters more.
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = this.#lookup.get(this.#vocab[tokens[i]] + this.#vocab[tokens[i + 1]]);
        if (id !== undefined && this.scores[id] > bestScore) {
          bestScore = this.scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    if (options.eos) tokens.push(EOS_ID);
    return tokens;
  }

  /**
   * The bytes llama2.c's decode(prev, token) yields: the piece, without its
   * leading space right after BOS, and <0xXX> pieces as the single raw byte.
   */
  decodeBytes(prevToken: number, token: number): Uint8Array {
    this.#checkId(token);
    return prevToken === BOS_ID ? this.#decodedAfterBos[token] : this.#decoded[token];
  }

  /**
   * decode(prev, token) as text. A lone byte token that is part of a multi-byte
   * character becomes U+FFFD here; use decodeAll or TokenTextDecoder for streams.
   */
  decode(prevToken: number, token: number): string {
    return new TextDecoder().decode(this.decodeBytes(prevToken, token));
  }

  /**
   * Text of a token sequence, each token decoded after its predecessor as in
   * llama2.c's generate loop; BOS/EOS print nothing. Characters split across
   * byte tokens are reassembled by a streaming UTF-8 decoder.
   */
  decodeAll(tokens: readonly number[]): string {
    const decoder = new TextDecoder();
    let text = '';
    let prev = -1;
    for (const token of tokens) {
      if (token !== BOS_ID && token !== EOS_ID) {
        text += decoder.decode(this.decodeBytes(prev, token), { stream: true });
      }
      prev = token;
    }
    return text + decoder.decode();
  }

  #checkId(token: number): void {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(`token id ${token} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }
}

/**
 * Parses llama2.c's tokenizer.bin: int32 max_token_length, then per token a
 * float32 score, an int32 byte length and the bytes. The file does not store the
 * vocabulary size; it comes from the model header.
 */
export function parseLlama2cTokenizer(bytes: Uint8Array, vocabSize: number): Tokenizer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (offset: number, n: number, what: string): void => {
    if (offset + n > bytes.byteLength) {
      throw new ModelFormatError('truncated', `tokenizer: file ends at byte ${bytes.byteLength} while reading ${what} (needs ${offset + n})`, offset + n, bytes.byteLength);
    }
  };
  need(0, 4, 'max_token_length');
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0) {
    throw new ModelFormatError('bad_header', `tokenizer: max_token_length must be positive, got ${maxTokenLength}`);
  }
  let offset = 4;
  const scores = new Float32Array(vocabSize);
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < vocabSize; i++) {
    need(offset, 8, `score and length of token ${i}`);
    scores[i] = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += 8;
    if (length < 0) throw new ModelFormatError('bad_token', `tokenizer: token ${i} has negative length ${length}`);
    need(offset, length, `the ${length} bytes of token ${i}`);
    pieces.push(bytes.slice(offset, offset + length));
    offset += length;
  }
  if (offset !== bytes.byteLength) {
    throw new ModelFormatError(
      'size_mismatch',
      `tokenizer: ${vocabSize} tokens end at byte ${offset}, file has ${bytes.byteLength} bytes (vocabulary size differs from the model?)`,
      offset,
      bytes.byteLength,
    );
  }
  return new Tokenizer(pieces, scores, maxTokenLength);
}
