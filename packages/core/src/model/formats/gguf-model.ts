import { configFromHeader, LLAMA2C_NORM_EPS, LLAMA2C_ROPE_THETA } from '../checkpoint.ts';
import type { LlamaConfig, LlamaLayerWeights } from '../checkpoint.ts';
import type { ByteSource } from './byte-source.ts';
import { parseGguf, readGgufTensor, type GgufFile, type GgufValue } from './gguf-file.ts';
import { ggufVocabulary } from './gguf-vocab.ts';
import { checkLength, llamaParameterCount, type LoadedModel } from './loaded-model.ts';
import { ModelFileError } from './model-file-error.ts';

// llama.cpp's tensor names for the LLaMA architecture, per layer.
const LAYER_TENSORS: Record<keyof LlamaLayerWeights, string> = {
  rmsAtt: 'attn_norm',
  wq: 'attn_q',
  wk: 'attn_k',
  wv: 'attn_v',
  wo: 'attn_output',
  rmsFfn: 'ffn_norm',
  w1: 'ffn_gate',
  w2: 'ffn_down',
  w3: 'ffn_up',
};

function metaNumber(gguf: GgufFile, file: string, key: string, fallback?: number): number {
  const v: GgufValue | undefined = gguf.metadata.get(key);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ModelFileError('bad_metadata', file, `metadata ${key} is ${v === undefined ? 'missing' : JSON.stringify(String(v))}, expected a number`, {
      expected: 'number',
      got: v === undefined ? 'missing' : typeof v,
    });
  }
  return v;
}

function llamaConfig(gguf: GgufFile, file: string): LlamaConfig {
  const m = (key: string, fallback?: number) => metaNumber(gguf, file, `llama.${key}`, fallback);
  const embd = gguf.tensors.get('token_embd.weight');
  if (!embd) throw new ModelFileError('missing_tensor', file, 'is missing', { tensor: 'token_embd.weight' });
  const nHeads = m('attention.head_count');
  const vocab = metaNumber(gguf, file, 'llama.vocab_size', embd.dims[1] ?? 0);
  const shared = !gguf.tensors.has('output.weight');
  let c: LlamaConfig;
  try {
    c = configFromHeader([m('embedding_length'), m('feed_forward_length'), m('block_count'), nHeads, m('attention.head_count_kv', nHeads), shared ? vocab : -vocab, m('context_length')]);
  } catch (e) {
    throw new ModelFileError('bad_metadata', file, (e as Error).message, { cause: e });
  }
  const ropeDim = m('rope.dimension_count', c.headSize);
  if (ropeDim !== c.headSize) {
    throw new ModelFileError('bad_metadata', file, `llama.rope.dimension_count ${ropeDim}: only RoPE over the whole head is supported`, { expected: c.headSize, got: ropeDim });
  }
  return { ...c, ropeTheta: m('rope.freq_base', LLAMA2C_ROPE_THETA), normEps: m('attention.layer_norm_rms_epsilon', LLAMA2C_NORM_EPS) };
}

/** Checks a GGUF tensor's ggml dims ([in, out] for matrices) before reading it. */
function tensor(source: ByteSource, gguf: GgufFile, name: string, dims: number[]): Float32Array {
  const info = gguf.tensors.get(name);
  if (!info) throw new ModelFileError('missing_tensor', source.name, 'is missing', { tensor: name });
  const got = info.dims;
  if (got.length !== dims.length || got.some((d, i) => d !== dims[i])) {
    throw new ModelFileError('bad_shape', source.name, `has dims [${got}], expected [${dims}]`, { tensor: name, expected: dims, got });
  }
  return checkLength(
    source.name,
    name,
    readGgufTensor(source, gguf, name),
    dims.reduce((a, b) => a * b, 1),
  );
}

/** Loads a GGUF file of architecture `llama` (tensors dequantized to float32) with its embedded vocabulary. */
export function loadGguf(source: ByteSource): LoadedModel {
  const gguf = parseGguf(source);
  const arch = gguf.metadata.get('general.architecture');
  if (arch !== 'llama') {
    const gpt2 = arch === 'gpt2' ? ' (GPT-2 loads with loadGgufGpt2, or loadSplitModelPath for any servable model)' : '';
    throw new ModelFileError('unsupported_architecture', source.name, `general.architecture ${JSON.stringify(arch)} is not supported (expected "llama")${gpt2}`, { expected: ['llama'], got: arch });
  }
  const c = llamaConfig(gguf, source.name);
  const { dim, kvDim, hiddenDim, vocabSize } = c;
  const shapes: Record<keyof LlamaLayerWeights, number[]> = {
    rmsAtt: [dim],
    wq: [dim, dim],
    wk: [dim, kvDim],
    wv: [dim, kvDim],
    wo: [dim, dim],
    rmsFfn: [dim],
    w1: [dim, hiddenDim],
    w2: [hiddenDim, dim],
    w3: [dim, hiddenDim],
  };
  const layers = Array.from({ length: c.nLayers }, (_, l) => {
    const layer = {} as LlamaLayerWeights;
    for (const key of Object.keys(LAYER_TENSORS) as Array<keyof LlamaLayerWeights>) {
      layer[key] = tensor(source, gguf, `blk.${l}.${LAYER_TENSORS[key]}.weight`, shapes[key]);
    }
    return layer;
  });
  const tokenEmbedding = tensor(source, gguf, 'token_embd.weight', [dim, vocabSize]);
  const weights = {
    config: c,
    tokenEmbedding,
    layers,
    rmsFinal: tensor(source, gguf, 'output_norm.weight', [dim]),
    wcls: c.sharedClassifier ? tokenEmbedding : tensor(source, gguf, 'output.weight', [dim, vocabSize]),
  };
  const model: LoadedModel = { format: 'gguf', source: source.name, architecture: 'llama', weights, parameterCount: llamaParameterCount(c) };
  const tokenizer = ggufVocabulary(gguf, source.name, vocabSize);
  if (tokenizer) model.tokenizer = tokenizer;
  return model;
}
