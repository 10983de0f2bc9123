import type { Gpt2Config, Gpt2LayerWeights, Gpt2Weights } from '../gpt2.ts';
import { gpt2ParameterCount } from '../gpt2.ts';
import type { ModelFolder } from './hf-folder.ts';
import type { TokenizerFile } from './loaded-model.ts';
import { ModelFileError } from './model-file-error.ts';
import { parseSafetensors, readSafetensor } from './safetensors-file.ts';

/** A GPT-2 loaded from a Hugging Face folder (plaintext only: the split schedule is LLaMA's). */
export interface LoadedGpt2Model {
  format: 'safetensors' | 'gguf';
  source: string;
  architecture: 'gpt2';
  weights: Gpt2Weights;
  parameterCount: number;
  tokenizer?: TokenizerFile;
}

function gpt2Config(cfg: Record<string, unknown>, file: string): Gpt2Config {
  const num = (key: string, fallback?: number): number => {
    const v = cfg[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 1 << 24)
      throw new ModelFileError('bad_metadata', file, `${key} is ${JSON.stringify(cfg[key])}, expected a positive integer`, { expected: 'positive integer', got: cfg[key] });
    return v;
  };
  if (cfg.activation_function !== undefined && cfg.activation_function !== 'gelu_new') {
    throw new ModelFileError('bad_metadata', file, `activation_function ${JSON.stringify(cfg.activation_function)} is not supported`, { expected: 'gelu_new', got: cfg.activation_function });
  }
  if (cfg.tie_word_embeddings === false) throw new ModelFileError('bad_metadata', file, 'an untied GPT-2 head is not supported', { expected: true, got: false });
  const dim = num('n_embd');
  const nHeads = num('n_head');
  if (dim % nHeads !== 0) throw new ModelFileError('bad_metadata', file, `n_embd ${dim} is not a multiple of n_head ${nHeads}`);
  const eps = cfg.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) throw new ModelFileError('bad_metadata', file, 'layer_norm_epsilon must be a positive number', { got: eps });
  return {
    dim,
    nHeads,
    headSize: dim / nHeads,
    nLayers: num('n_layer'),
    vocabSize: num('vocab_size'),
    seqLen: num('n_positions'),
    hiddenDim: (cfg.n_inner ?? null) === null ? 4 * dim : num('n_inner'),
    normEps: eps,
  };
}

/** transformers' Conv1D stores [in][out]; we keep matrices [out][in]. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/** Loads a GPT2LMHeadModel folder (config.json, model.safetensors, F32/F16/BF16; tensor names with or without `transformer.`). */
export function loadHfGpt2(folder: ModelFolder, cfg: Record<string, unknown>): LoadedGpt2Model {
  const c = gpt2Config(cfg, `${folder.name}/config.json`);
  if (!folder.has('model.safetensors')) throw new ModelFileError('unknown_format', folder.name, 'a GPT-2 folder needs model.safetensors');
  const st = parseSafetensors(folder.open('model.safetensors'));
  const prefix = st.tensors.has('transformer.wte.weight') ? 'transformer.' : '';
  const read = (name: string, shape: number[]) => readSafetensor(st, prefix + name, shape);
  const { dim, hiddenDim } = c;
  const layers: Gpt2LayerWeights[] = Array.from({ length: c.nLayers }, (_, l) => {
    const p = `h.${l}.`;
    return {
      ln1Gain: read(`${p}ln_1.weight`, [dim]),
      ln1Bias: read(`${p}ln_1.bias`, [dim]),
      wqkv: transpose(read(`${p}attn.c_attn.weight`, [dim, 3 * dim]), dim, 3 * dim),
      bqkv: read(`${p}attn.c_attn.bias`, [3 * dim]),
      wo: transpose(read(`${p}attn.c_proj.weight`, [dim, dim]), dim, dim),
      bo: read(`${p}attn.c_proj.bias`, [dim]),
      ln2Gain: read(`${p}ln_2.weight`, [dim]),
      ln2Bias: read(`${p}ln_2.bias`, [dim]),
      wfc: transpose(read(`${p}mlp.c_fc.weight`, [dim, hiddenDim]), dim, hiddenDim),
      bfc: read(`${p}mlp.c_fc.bias`, [hiddenDim]),
      wproj: transpose(read(`${p}mlp.c_proj.weight`, [hiddenDim, dim]), hiddenDim, dim),
      bproj: read(`${p}mlp.c_proj.bias`, [dim]),
    };
  });
  const tokenEmbedding = read('wte.weight', [c.vocabSize, dim]);
  const weights: Gpt2Weights = {
    config: c,
    tokenEmbedding,
    positionEmbedding: read('wpe.weight', [c.seqLen, dim]),
    layers,
    lnfGain: read('ln_f.weight', [dim]),
    lnfBias: read('ln_f.bias', [dim]),
    wcls: tokenEmbedding,
  };
  const model: LoadedGpt2Model = { format: 'safetensors', source: folder.name, architecture: 'gpt2', weights, parameterCount: gpt2ParameterCount(c) };
  if (folder.has('tokenizer.json')) model.tokenizer = { kind: 'hf-json', bytes: folder.readBytes('tokenizer.json') };
  return model;
}
