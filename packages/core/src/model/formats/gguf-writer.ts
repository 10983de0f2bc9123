import type { LlamaWeights } from '../checkpoint.ts';
import { LLAMA2C_NORM_EPS, LLAMA2C_ROPE_THETA } from '../checkpoint.ts';
import { GGML_TYPE, GGUF_MAGIC, GGUF_VALUE } from './gguf-file.ts';
import { encodedLength, encodeTensor, type TensorDtype } from './tensor-encoding.ts';

// A GGUF v3 writer for the synthetic models and tests: llama.cpp's tensor
// names and metadata keys for the LLaMA architecture (q/k already in the
// adjacent-pair RoPE order, as llama.cpp's converter leaves them).

export interface GgufVocab {
  model: 'llama' | 'gpt2';
  tokens: string[];
  scores?: number[];
  tokenTypes?: number[];
  merges?: string[];
  bosId?: number;
  eosId?: number;
}

type Meta = [string, number, unknown];

const ALIGN = 32;
const encoder = new TextEncoder();

class Bytes {
  parts: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  num(kind: 'u32' | 'i32' | 'f32' | 'u64' | 'u8', v: number): void {
    const size = kind === 'u64' ? 8 : kind === 'u8' ? 1 : 4;
    const b = new Uint8Array(size);
    const view = new DataView(b.buffer);
    if (kind === 'u32') view.setUint32(0, v, true);
    else if (kind === 'i32') view.setInt32(0, v, true);
    else if (kind === 'f32') view.setFloat32(0, v, true);
    else if (kind === 'u8') view.setUint8(0, v);
    else view.setBigUint64(0, BigInt(v), true);
    this.push(b);
  }
  str(s: string): void {
    const b = encoder.encode(s);
    this.num('u64', b.length);
    this.push(b);
  }
  value(type: number, v: unknown): void {
    switch (type) {
      case GGUF_VALUE.u32:
        this.num('u32', v as number);
        return;
      case GGUF_VALUE.i32:
        this.num('i32', v as number);
        return;
      case GGUF_VALUE.f32:
        this.num('f32', v as number);
        return;
      case GGUF_VALUE.bool:
        this.num('u8', v ? 1 : 0);
        return;
      case GGUF_VALUE.string:
        this.str(v as string);
        return;
      default:
        throw new Error(`writer: value type ${type}`);
    }
  }
}

function array(itemType: number, items: unknown[]): [number, unknown] {
  return [GGUF_VALUE.array, { itemType, items }];
}

export interface GgufWriteOptions {
  /** Matrix encoding (norms stay F32, as llama.cpp keeps them). Default F32. */
  dtype?: TensorDtype;
  vocab?: GgufVocab;
  /** Override general.architecture (tests of the refusal). */
  architecture?: string;
}

const TYPE_IDS: Record<TensorDtype, number> = { F32: GGML_TYPE.F32, F16: GGML_TYPE.F16, BF16: GGML_TYPE.BF16, Q8_0: GGML_TYPE.Q8_0 };

/** A LLaMA model as GGUF v3 chunks (header, then each tensor padded to 32 bytes). */
export function* ggufChunks(w: LlamaWeights, options: GgufWriteOptions = {}): Generator<Uint8Array> {
  const c = w.config;
  const dtype = options.dtype ?? 'F32';
  const meta: Meta[] = [
    ['general.architecture', GGUF_VALUE.string, options.architecture ?? 'llama'],
    ['general.alignment', GGUF_VALUE.u32, ALIGN],
    ['llama.context_length', GGUF_VALUE.u32, c.seqLen],
    ['llama.embedding_length', GGUF_VALUE.u32, c.dim],
    ['llama.block_count', GGUF_VALUE.u32, c.nLayers],
    ['llama.feed_forward_length', GGUF_VALUE.u32, c.hiddenDim],
    ['llama.attention.head_count', GGUF_VALUE.u32, c.nHeads],
    ['llama.attention.head_count_kv', GGUF_VALUE.u32, c.nKvHeads],
    ['llama.rope.freq_base', GGUF_VALUE.f32, c.ropeTheta ?? LLAMA2C_ROPE_THETA],
    ['llama.rope.dimension_count', GGUF_VALUE.u32, c.headSize],
    ['llama.attention.layer_norm_rms_epsilon', GGUF_VALUE.f32, c.normEps ?? LLAMA2C_NORM_EPS],
    ['llama.vocab_size', GGUF_VALUE.u32, c.vocabSize],
  ];
  const v = options.vocab;
  if (v) {
    meta.push(['tokenizer.ggml.model', GGUF_VALUE.string, v.model]);
    meta.push(['tokenizer.ggml.tokens', ...array(GGUF_VALUE.string, v.tokens)]);
    if (v.scores) meta.push(['tokenizer.ggml.scores', ...array(GGUF_VALUE.f32, v.scores)]);
    if (v.tokenTypes) meta.push(['tokenizer.ggml.token_type', ...array(GGUF_VALUE.i32, v.tokenTypes)]);
    if (v.merges) meta.push(['tokenizer.ggml.merges', ...array(GGUF_VALUE.string, v.merges)]);
    if (v.bosId !== undefined) meta.push(['tokenizer.ggml.bos_token_id', GGUF_VALUE.u32, v.bosId]);
    if (v.eosId !== undefined) meta.push(['tokenizer.ggml.eos_token_id', GGUF_VALUE.u32, v.eosId]);
  }

  const tensors: GgufTensorSpec[] = [];
  const add = (name: string, dims: number[], data: Float32Array, matrix: boolean) => tensors.push({ name, dims, data, dtype: matrix ? dtype : 'F32' });
  add('token_embd.weight', [c.dim, c.vocabSize], w.tokenEmbedding, true);
  w.layers.forEach((l, i) => {
    add(`blk.${i}.attn_norm.weight`, [c.dim], l.rmsAtt, false);
    add(`blk.${i}.attn_q.weight`, [c.dim, c.dim], l.wq, true);
    add(`blk.${i}.attn_k.weight`, [c.dim, c.kvDim], l.wk, true);
    add(`blk.${i}.attn_v.weight`, [c.dim, c.kvDim], l.wv, true);
    add(`blk.${i}.attn_output.weight`, [c.dim, c.dim], l.wo, true);
    add(`blk.${i}.ffn_norm.weight`, [c.dim], l.rmsFfn, false);
    add(`blk.${i}.ffn_gate.weight`, [c.dim, c.hiddenDim], l.w1, true);
    add(`blk.${i}.ffn_down.weight`, [c.hiddenDim, c.dim], l.w2, true);
    add(`blk.${i}.ffn_up.weight`, [c.dim, c.hiddenDim], l.w3, true);
  });
  add('output_norm.weight', [c.dim], w.rmsFinal, false);
  if (!c.sharedClassifier) add('output.weight', [c.dim, c.vocabSize], w.wcls, true);

  yield* ggufFileChunks(meta, tensors);
}

/** A GGUF tensor to write: ggml dims (innermost first) and float32 data encoded as `dtype`. */
export interface GgufTensorSpec {
  name: string;
  dims: number[];
  data: Float32Array;
  dtype: TensorDtype;
}

/** GGUF v3 chunks from metadata [key, value type, value] and tensors (arrays as {itemType, items}). */
export function* ggufFileChunks(meta: ReadonlyArray<[string, number, unknown]>, tensors: readonly GgufTensorSpec[]): Generator<Uint8Array> {
  const head = new Bytes();
  head.num('u32', GGUF_MAGIC);
  head.num('u32', 3);
  head.num('u64', tensors.length);
  head.num('u64', meta.length);
  for (const [key, type, value] of meta) {
    head.str(key);
    head.num('u32', type);
    if (type === GGUF_VALUE.array) {
      const { itemType, items } = value as { itemType: number; items: unknown[] };
      head.num('u32', itemType);
      head.num('u64', items.length);
      for (const item of items) head.value(itemType, item);
    } else head.value(type, value);
  }
  let offset = 0;
  const padded = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
  for (const t of tensors) {
    head.str(t.name);
    head.num('u32', t.dims.length);
    for (const d of t.dims) head.num('u64', d);
    head.num('u32', TYPE_IDS[t.dtype]);
    head.num('u64', offset);
    offset += padded(encodedLength(t.data.length, t.dtype));
  }
  for (const p of head.parts) yield p;
  yield new Uint8Array(padded(head.length) - head.length);
  for (const t of tensors) {
    const bytes = encodeTensor(t.data, t.dtype);
    yield bytes;
    yield new Uint8Array(padded(bytes.length) - bytes.length);
  }
}
