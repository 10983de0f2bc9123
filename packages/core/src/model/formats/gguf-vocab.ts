import type { GgufFile, GgufValue } from './gguf-file.ts';
import { writeLlama2cTokenizer } from './llama2c-tokenizer-writer.ts';
import type { TokenizerFile } from './loaded-model.ts';
import { ModelFileError } from './model-file-error.ts';

// GGUF embeds its vocabulary as tokenizer.ggml.* metadata. We turn it into a
// file the client already parses: SentencePiece vocabularies ("llama") into
// llama2.c's tokenizer.bin (same pieces and scores, "▁" as a space, as
// llama2.c's tokenizer.py exports them), byte-level BPE ("gpt2") into a
// Hugging Face tokenizer.json.

const encoder = new TextEncoder();
const CONTROL = 3; // llama.cpp token type: control (special) token

function stringArray(gguf: GgufFile, file: string, key: string, length: number): string[] {
  const v = gguf.metadata.get(key);
  if (!Array.isArray(v) || v.length !== length || v.some((s) => typeof s !== 'string')) {
    throw new ModelFileError('bad_metadata', file, `${key} must be ${length} strings`, { expected: length, got: Array.isArray(v) ? v.length : typeof v });
  }
  return v as string[];
}

function numberArray(gguf: GgufFile, key: string, length: number): number[] | undefined {
  const v: GgufValue | undefined = gguf.metadata.get(key);
  if (!Array.isArray(v) || v.length !== length || v.some((s) => typeof s !== 'number')) return undefined;
  return v as number[];
}

/** The embedded vocabulary as a tokenizer file, or undefined when the file has none. */
export function ggufVocabulary(gguf: GgufFile, file: string, vocabSize: number): TokenizerFile | undefined {
  const model = gguf.metadata.get('tokenizer.ggml.model');
  if (model === undefined) return undefined;
  const tokens = stringArray(gguf, file, 'tokenizer.ggml.tokens', vocabSize);
  if (model === 'llama') {
    const scores = numberArray(gguf, 'tokenizer.ggml.scores', vocabSize);
    if (!scores) throw new ModelFileError('bad_metadata', file, `tokenizer.ggml.scores must be ${vocabSize} numbers`, { expected: vocabSize });
    const pieces = tokens.map((t) => encoder.encode(t.replaceAll('\u2581', ' ')));
    return { kind: 'llama2c-bin', bytes: writeLlama2cTokenizer(pieces, scores) };
  }
  if (model === 'gpt2') {
    const mergesValue = gguf.metadata.get('tokenizer.ggml.merges');
    const merges = Array.isArray(mergesValue) ? (mergesValue.filter((m) => typeof m === 'string') as string[]) : [];
    const types = numberArray(gguf, 'tokenizer.ggml.token_type', vocabSize);
    return { kind: 'hf-json', bytes: encoder.encode(JSON.stringify(byteLevelTokenizerJson(tokens, merges, types))) };
  }
  throw new ModelFileError('bad_metadata', file, `tokenizer.ggml.model ${JSON.stringify(model)} is not supported (expected "llama" or "gpt2")`, { expected: ['llama', 'gpt2'], got: model });
}

/** A GPT-2-style byte-level BPE tokenizer.json; tokens of type 3 (control) become special added tokens. */
export function byteLevelTokenizerJson(tokens: readonly string[], merges: readonly string[], types?: readonly number[]): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => {
    vocab[t] = id;
  });
  const added = types ? tokens.flatMap((content, id) => (types[id] === CONTROL ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }] : [])) : [];
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [...merges] },
  };
}
