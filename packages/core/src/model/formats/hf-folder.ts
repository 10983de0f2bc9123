import { configFromHeader, LLAMA2C_NORM_EPS, LLAMA2C_ROPE_THETA } from '../checkpoint.ts';
import type { LlamaConfig, LlamaLayerWeights } from '../checkpoint.ts';
import type { ByteSource } from './byte-source.ts';
import { checkLength, llamaParameterCount, unpermuteHalvesToPairs, type LoadedModel } from './loaded-model.ts';
import { ModelFileError } from './model-file-error.ts';
import { parseSafetensors, readSafetensor, type SafetensorsFile } from './safetensors-file.ts';

/** A folder's files, by plain name (no path separators); the Node implementation reads from disk. */
export interface ModelFolder {
  readonly name: string;
  has(file: string): boolean;
  readBytes(file: string): Uint8Array;
  open(file: string): ByteSource;
}

const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';
const SAFE_NAME = /^[\w.-]+$/;

export function json(folder: ModelFolder, file: string): Record<string, unknown> {
  const where = `${folder.name}/${file}`;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(folder.readBytes(file)));
  } catch (e) {
    throw new ModelFileError('bad_metadata', where, `is not JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ModelFileError('bad_metadata', where, 'is not a JSON object');
  return value as Record<string, unknown>;
}

function llamaConfig(cfg: Record<string, unknown>, file: string): LlamaConfig {
  const num = (key: string, fallback?: number): number => {
    const v = cfg[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelFileError('bad_metadata', file, `${key} is ${JSON.stringify(cfg[key])}, expected a number`, { expected: 'number', got: cfg[key] });
    return v;
  };
  if (cfg.rope_scaling !== undefined && cfg.rope_scaling !== null) {
    throw new ModelFileError('bad_metadata', file, 'rope_scaling is not supported', { expected: null, got: cfg.rope_scaling });
  }
  if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'silu') {
    throw new ModelFileError('bad_metadata', file, `hidden_act ${JSON.stringify(cfg.hidden_act)} is not supported`, { expected: 'silu', got: cfg.hidden_act });
  }
  if (cfg.attention_bias === true || cfg.mlp_bias === true) {
    throw new ModelFileError('bad_metadata', file, 'attention_bias / mlp_bias are not supported for LLaMA models', { expected: false, got: true });
  }
  const heads = num('num_attention_heads');
  const vocab = num('vocab_size');
  const tied = cfg.tie_word_embeddings === true;
  let c: LlamaConfig;
  try {
    c = configFromHeader([num('hidden_size'), num('intermediate_size'), num('num_hidden_layers'), heads, num('num_key_value_heads', heads), tied ? vocab : -vocab, num('max_position_embeddings')]);
  } catch (e) {
    throw new ModelFileError('bad_metadata', file, (e as Error).message, { cause: e });
  }
  if (cfg.head_dim !== undefined && cfg.head_dim !== null && cfg.head_dim !== c.headSize) {
    throw new ModelFileError('bad_metadata', file, `head_dim ${cfg.head_dim} differs from hidden_size / num_attention_heads`, { expected: c.headSize, got: cfg.head_dim });
  }
  return { ...c, ropeTheta: num('rope_theta', LLAMA2C_ROPE_THETA), normEps: num('rms_norm_eps', LLAMA2C_NORM_EPS) };
}

/** Where each tensor lives: one model.safetensors, or the shards named by model.safetensors.index.json. */
function shardsOf(folder: ModelFolder): (tensor: string) => SafetensorsFile {
  const opened = new Map<string, SafetensorsFile>();
  const open = (file: string): SafetensorsFile => {
    let st = opened.get(file);
    if (!st) {
      st = parseSafetensors(folder.open(file));
      opened.set(file, st);
    }
    return st;
  };
  if (folder.has(INDEX)) {
    const where = `${folder.name}/${INDEX}`;
    const map = json(folder, INDEX).weight_map;
    if (typeof map !== 'object' || map === null) throw new ModelFileError('bad_metadata', where, 'has no weight_map object');
    const entries = map as Record<string, unknown>;
    return (tensor) => {
      const file = entries[tensor];
      if (file === undefined) throw new ModelFileError('missing_tensor', where, 'is not in weight_map', { tensor });
      if (typeof file !== 'string' || !SAFE_NAME.test(file) || !folder.has(file)) {
        throw new ModelFileError('bad_metadata', where, `maps to ${JSON.stringify(file)}, expected a safetensors file in the folder`, { tensor, got: file });
      }
      return open(file);
    };
  }
  if (!folder.has(SINGLE)) throw new ModelFileError('unknown_format', folder.name, `has neither ${SINGLE} nor ${INDEX}`);
  return () => open(SINGLE);
}

const LAYER_TENSORS: Record<keyof LlamaLayerWeights, string> = {
  rmsAtt: 'input_layernorm',
  wq: 'self_attn.q_proj',
  wk: 'self_attn.k_proj',
  wv: 'self_attn.v_proj',
  wo: 'self_attn.o_proj',
  rmsFfn: 'post_attention_layernorm',
  w1: 'mlp.gate_proj',
  w2: 'mlp.down_proj',
  w3: 'mlp.up_proj',
};

/** True when the folder looks like a Hugging Face model (config.json beside safetensors). */
export function isHfFolder(folder: ModelFolder): boolean {
  return folder.has('config.json') && (folder.has(SINGLE) || folder.has(INDEX));
}

/** Loads a Hugging Face folder (config.json + safetensors) of a LlamaForCausalLM, with its tokenizer.json. */
export function loadHfFolder(folder: ModelFolder): LoadedModel {
  const configFile = `${folder.name}/config.json`;
  const cfg = json(folder, 'config.json');
  const archs = cfg.architectures;
  const arch = Array.isArray(archs) ? archs[0] : cfg.model_type;
  if (arch !== 'LlamaForCausalLM' && !(arch === undefined && cfg.model_type === 'llama')) {
    const gpt2 = arch === 'GPT2LMHeadModel' ? ' (GPT-2 loads with loadGpt2Folder, or loadSplitModelPath for any servable model)' : '';
    throw new ModelFileError('unsupported_architecture', configFile, `architecture ${JSON.stringify(arch ?? cfg.model_type)} is not supported (expected LlamaForCausalLM)${gpt2}`, {
      expected: ['LlamaForCausalLM'],
      got: arch ?? cfg.model_type,
    });
  }
  const c = llamaConfig(cfg, configFile);
  const { dim, kvDim, hiddenDim, vocabSize, nHeads, nKvHeads } = c;
  const shardFor = shardsOf(folder);
  const read = (name: string, shape: number[]): Float32Array => {
    const st = shardFor(name);
    return checkLength(
      st.source.name,
      name,
      readSafetensor(st, name, shape),
      shape.reduce((a, b) => a * b, 1),
    );
  };
  const shapes: Record<keyof LlamaLayerWeights, number[]> = {
    rmsAtt: [dim],
    wq: [dim, dim],
    wk: [kvDim, dim],
    wv: [kvDim, dim],
    wo: [dim, dim],
    rmsFfn: [dim],
    w1: [hiddenDim, dim],
    w2: [dim, hiddenDim],
    w3: [hiddenDim, dim],
  };
  const layers = Array.from({ length: c.nLayers }, (_, l) => {
    const layer = {} as LlamaLayerWeights;
    for (const key of Object.keys(LAYER_TENSORS) as Array<keyof LlamaLayerWeights>) {
      layer[key] = read(`model.layers.${l}.${LAYER_TENSORS[key]}.weight`, shapes[key]);
    }
    // Hugging Face's q/k rows are in split-half RoPE order; ours rotate adjacent pairs.
    layer.wq = unpermuteHalvesToPairs(layer.wq, nHeads, dim);
    layer.wk = unpermuteHalvesToPairs(layer.wk, nKvHeads, dim);
    return layer;
  });
  const tokenEmbedding = read('model.embed_tokens.weight', [vocabSize, dim]);
  const weights = {
    config: c,
    tokenEmbedding,
    layers,
    rmsFinal: read('model.norm.weight', [dim]),
    wcls: c.sharedClassifier ? tokenEmbedding : read('lm_head.weight', [vocabSize, dim]),
  };
  const model: LoadedModel = { format: 'safetensors', source: folder.name, architecture: 'llama', weights, parameterCount: llamaParameterCount(c) };
  if (folder.has('tokenizer.json')) model.tokenizer = { kind: 'hf-json', bytes: folder.readBytes('tokenizer.json') };
  return model;
}
