import type { LlamaWeights } from '../checkpoint.ts';
import { LLAMA2C_NORM_EPS, LLAMA2C_ROPE_THETA } from '../checkpoint.ts';
import { permutePairsToHalves } from './loaded-model.ts';
import { concatChunks, encodedLength, encodeTensor, type TensorDtype } from './tensor-encoding.ts';

// Writes a LLaMA model as a Hugging Face folder: config.json and
// model.safetensors (or shards with model.safetensors.index.json), with q/k
// rows in Hugging Face's split-half RoPE order.

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** One safetensors file as chunks: header length, JSON header, then tensor bytes. */
export function* safetensorsChunks(tensors: NamedTensor[], dtype: Exclude<TensorDtype, 'Q8_0'>): Generator<Uint8Array> {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const n = encodedLength(t.data.length, dtype);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // align the data, as the Python writer does
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
  yield len;
  yield new TextEncoder().encode(json);
  for (const t of tensors) yield encodeTensor(t.data, dtype);
}

export function hfLlamaConfig(w: LlamaWeights): Record<string, unknown> {
  const c = w.config;
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.seqLen,
    rms_norm_eps: c.normEps ?? LLAMA2C_NORM_EPS,
    rope_theta: c.ropeTheta ?? LLAMA2C_ROPE_THETA,
    tie_word_embeddings: c.sharedClassifier,
    hidden_act: 'silu',
    torch_dtype: 'float32',
  };
}

export function hfLlamaTensors(w: LlamaWeights): NamedTensor[] {
  const c = w.config;
  const out: NamedTensor[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.dim], data: w.tokenEmbedding }];
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, shape: [c.dim], data: l.rmsAtt },
      { name: `${p}.self_attn.q_proj.weight`, shape: [c.dim, c.dim], data: permutePairsToHalves(l.wq, c.nHeads, c.dim) },
      { name: `${p}.self_attn.k_proj.weight`, shape: [c.kvDim, c.dim], data: permutePairsToHalves(l.wk, c.nKvHeads, c.dim) },
      { name: `${p}.self_attn.v_proj.weight`, shape: [c.kvDim, c.dim], data: l.wv },
      { name: `${p}.self_attn.o_proj.weight`, shape: [c.dim, c.dim], data: l.wo },
      { name: `${p}.post_attention_layernorm.weight`, shape: [c.dim], data: l.rmsFfn },
      { name: `${p}.mlp.gate_proj.weight`, shape: [c.hiddenDim, c.dim], data: l.w1 },
      { name: `${p}.mlp.down_proj.weight`, shape: [c.dim, c.hiddenDim], data: l.w2 },
      { name: `${p}.mlp.up_proj.weight`, shape: [c.hiddenDim, c.dim], data: l.w3 },
    );
  });
  out.push({ name: 'model.norm.weight', shape: [c.dim], data: w.rmsFinal });
  if (!c.sharedClassifier) out.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.dim], data: w.wcls });
  return out;
}

/**
 * The folder's files, name -> chunks. `shards` > 1 splits the tensors over
 * model-0000i-of-0000n.safetensors files with an index, like transformers does.
 */
export function hfLlamaFiles(w: LlamaWeights, dtype: Exclude<TensorDtype, 'Q8_0'> = 'F32', shards = 1): Map<string, () => Iterable<Uint8Array>> {
  const files = new Map<string, () => Iterable<Uint8Array>>();
  const text = (s: string) => () => [new TextEncoder().encode(s)];
  files.set('config.json', text(JSON.stringify({ ...hfLlamaConfig(w), torch_dtype: dtype === 'F32' ? 'float32' : dtype === 'F16' ? 'float16' : 'bfloat16' }, null, 2)));
  const tensors = hfLlamaTensors(w);
  if (shards <= 1) {
    files.set('model.safetensors', () => safetensorsChunks(tensors, dtype));
    return files;
  }
  const per = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  const pad = (n: number) => String(n).padStart(5, '0');
  for (let s = 0; s < shards; s++) {
    const name = `model-${pad(s + 1)}-of-${pad(shards)}.safetensors`;
    const part = tensors.slice(s * per, (s + 1) * per);
    for (const t of part) weightMap[t.name] = name;
    files.set(name, () => safetensorsChunks(part, dtype));
  }
  files.set('model.safetensors.index.json', text(JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2)));
  return files;
}

/** All of a folder's files joined in memory (tests). */
export function hfLlamaFolderBytes(w: LlamaWeights, dtype: Exclude<TensorDtype, 'Q8_0'> = 'F32', shards = 1): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [name, chunks] of hfLlamaFiles(w, dtype, shards)) out.set(name, concatChunks(chunks()));
  return out;
}
