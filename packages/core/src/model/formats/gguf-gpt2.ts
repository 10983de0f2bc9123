import type { Gpt2Config, Gpt2LayerWeights, Gpt2Weights } from '../gpt2.ts';
import { gpt2ParameterCount } from '../gpt2.ts';
import type { ByteSource } from './byte-source.ts';
import { GGUF_VALUE, parseGguf, readGgufTensor, type GgufFile } from './gguf-file.ts';
import { ggufVocabulary } from './gguf-vocab.ts';
import { ggufFileChunks, type GgufTensorSpec } from './gguf-writer.ts';
import type { LoadedGpt2Model } from './hf-gpt2.ts';
import { ModelFileError } from './model-file-error.ts';
import type { TensorDtype } from './tensor-encoding.ts';

// GGUF files of architecture `gpt2` (llama.cpp's names; its converter stores
// GPT-2's Conv1D weights transposed, i.e. [out][in] like every other matrix).

const LAYER: Array<[keyof Gpt2LayerWeights, string, 'dim' | 'qkv' | 'hidden', 'dim' | 'hidden' | null]> = [
  ['ln1Gain', 'attn_norm.weight', 'dim', null],
  ['ln1Bias', 'attn_norm.bias', 'dim', null],
  ['wqkv', 'attn_qkv.weight', 'qkv', 'dim'],
  ['bqkv', 'attn_qkv.bias', 'qkv', null],
  ['wo', 'attn_output.weight', 'dim', 'dim'],
  ['bo', 'attn_output.bias', 'dim', null],
  ['ln2Gain', 'ffn_norm.weight', 'dim', null],
  ['ln2Bias', 'ffn_norm.bias', 'dim', null],
  ['wfc', 'ffn_up.weight', 'hidden', 'dim'],
  ['bfc', 'ffn_up.bias', 'hidden', null],
  ['wproj', 'ffn_down.weight', 'dim', 'hidden'],
  ['bproj', 'ffn_down.bias', 'dim', null],
];

function size(c: Gpt2Config, d: 'dim' | 'qkv' | 'hidden'): number {
  return d === 'dim' ? c.dim : d === 'qkv' ? 3 * c.dim : c.hiddenDim;
}

function config(gguf: GgufFile, file: string): Gpt2Config {
  const m = (key: string, fallback?: number): number => {
    const v = gguf.metadata.get(`gpt2.${key}`) ?? fallback;
    if (typeof v !== 'number' || !(v > 0) || (key !== 'attention.layer_norm_epsilon' && (!Number.isInteger(v) || v > 1 << 24))) {
      throw new ModelFileError('bad_metadata', file, `metadata gpt2.${key} is ${v === undefined ? 'missing' : JSON.stringify(String(v))}`, {
        expected: 'a positive number',
        got: v === undefined ? 'missing' : String(v),
      });
    }
    return v;
  };
  const dim = m('embedding_length');
  const nHeads = m('attention.head_count');
  if (dim % nHeads !== 0) throw new ModelFileError('bad_metadata', file, `embedding_length ${dim} is not a multiple of head_count ${nHeads}`);
  const embd = gguf.tensors.get('token_embd.weight');
  if (!embd) throw new ModelFileError('missing_tensor', file, 'is missing', { tensor: 'token_embd.weight' });
  return {
    dim,
    nHeads,
    headSize: dim / nHeads,
    nLayers: m('block_count'),
    hiddenDim: m('feed_forward_length', 4 * dim),
    vocabSize: embd.dims[1] ?? 0,
    seqLen: m('context_length'),
    normEps: m('attention.layer_norm_epsilon', 1e-5),
  };
}

function tensor(source: ByteSource, gguf: GgufFile, name: string, dims: number[]): Float32Array {
  const info = gguf.tensors.get(name);
  if (!info) throw new ModelFileError('missing_tensor', source.name, 'is missing', { tensor: name });
  if (info.dims.length !== dims.length || info.dims.some((d, i) => d !== dims[i])) {
    throw new ModelFileError('bad_shape', source.name, `has dims [${info.dims}], expected [${dims}]`, { tensor: name, expected: dims, got: info.dims });
  }
  return readGgufTensor(source, gguf, name);
}

/** Loads a GGUF file of architecture `gpt2` (servable: buildGpt2Schedule; the relay loads it through loadSplitModelPath). */
export function loadGgufGpt2(source: ByteSource): LoadedGpt2Model {
  const gguf = parseGguf(source);
  const arch = gguf.metadata.get('general.architecture');
  if (arch !== 'gpt2') throw new ModelFileError('unsupported_architecture', source.name, `general.architecture ${JSON.stringify(arch)} is not gpt2`, { expected: ['gpt2'], got: arch });
  const c = config(gguf, source.name);
  const layers = Array.from({ length: c.nLayers }, (_, l) => {
    const layer = {} as Gpt2LayerWeights;
    for (const [key, name, out, inp] of LAYER) layer[key] = tensor(source, gguf, `blk.${l}.${name}`, inp ? [size(c, inp), size(c, out)] : [size(c, out)]);
    return layer;
  });
  const tokenEmbedding = tensor(source, gguf, 'token_embd.weight', [c.dim, c.vocabSize]);
  const weights: Gpt2Weights = {
    config: c,
    tokenEmbedding,
    layers,
    positionEmbedding: tensor(source, gguf, 'position_embd.weight', [c.dim, c.seqLen]),
    lnfGain: tensor(source, gguf, 'output_norm.weight', [c.dim]),
    lnfBias: tensor(source, gguf, 'output_norm.bias', [c.dim]),
    wcls: gguf.tensors.has('output.weight') ? tensor(source, gguf, 'output.weight', [c.dim, c.vocabSize]) : tokenEmbedding,
  };
  const model: LoadedGpt2Model = { format: 'gguf', source: source.name, architecture: 'gpt2', weights, parameterCount: gpt2ParameterCount(c) };
  const vocab = ggufVocabulary(gguf, source.name, c.vocabSize);
  if (vocab) model.tokenizer = vocab;
  return model;
}

/** GPT-2 weights as GGUF v3 chunks (matrices in `dtype`, norms and biases F32). */
export function* ggufGpt2Chunks(w: Gpt2Weights, dtype: TensorDtype = 'F32'): Generator<Uint8Array> {
  const c = w.config;
  const meta: Array<[string, number, unknown]> = [
    ['general.architecture', GGUF_VALUE.string, 'gpt2'],
    ['general.alignment', GGUF_VALUE.u32, 32],
    ['gpt2.context_length', GGUF_VALUE.u32, c.seqLen],
    ['gpt2.embedding_length', GGUF_VALUE.u32, c.dim],
    ['gpt2.feed_forward_length', GGUF_VALUE.u32, c.hiddenDim],
    ['gpt2.block_count', GGUF_VALUE.u32, c.nLayers],
    ['gpt2.attention.head_count', GGUF_VALUE.u32, c.nHeads],
    ['gpt2.attention.layer_norm_epsilon', GGUF_VALUE.f32, c.normEps],
  ];
  const tensors: GgufTensorSpec[] = [
    { name: 'token_embd.weight', dims: [c.dim, c.vocabSize], data: w.tokenEmbedding, dtype },
    { name: 'position_embd.weight', dims: [c.dim, c.seqLen], data: w.positionEmbedding, dtype: 'F32' },
  ];
  w.layers.forEach((l, i) => {
    for (const [key, name, out, inp] of LAYER) {
      tensors.push({ name: `blk.${i}.${name}`, dims: inp ? [size(c, inp), size(c, out)] : [size(c, out)], data: l[key], dtype: inp ? dtype : 'F32' });
    }
  });
  tensors.push({ name: 'output_norm.weight', dims: [c.dim], data: w.lnfGain, dtype: 'F32' }, { name: 'output_norm.bias', dims: [c.dim], data: w.lnfBias, dtype: 'F32' });
  yield* ggufFileChunks(meta, tensors);
}
