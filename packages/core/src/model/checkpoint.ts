import { ModelFormatError } from './model-format-error.ts';

/** Hyper-parameters of a llama2.c checkpoint, plus the sizes derived from them. */
export interface LlamaConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** dim / nHeads */
  headSize: number;
  /** dim * nKvHeads / nHeads: width of k and v (grouped-query attention) */
  kvDim: number;
  /** true when the classifier reuses the token-embedding table (positive vocab_size in the header) */
  sharedClassifier: boolean;
  /** RoPE base; llama2.c's 10000 when absent. Other formats carry their own. */
  ropeTheta?: number;
  /** RMSNorm epsilon; llama2.c's 1e-5 when absent. */
  normEps?: number;
}

export const LLAMA2C_ROPE_THETA = 10000;
export const LLAMA2C_NORM_EPS = 1e-5;

/** One transformer block; matrices are row-major [out][in] as llama2.c's matmul reads them. */
export interface LlamaLayerWeights {
  rmsAtt: Float32Array; // [dim]
  wq: Float32Array; // [dim][dim]
  wk: Float32Array; // [kvDim][dim]
  wv: Float32Array; // [kvDim][dim]
  wo: Float32Array; // [dim][dim]
  rmsFfn: Float32Array; // [dim]
  w1: Float32Array; // [hiddenDim][dim]
  w2: Float32Array; // [dim][hiddenDim]
  w3: Float32Array; // [hiddenDim][dim]
}

export interface LlamaWeights {
  config: LlamaConfig;
  tokenEmbedding: Float32Array; // [vocab][dim]
  layers: LlamaLayerWeights[];
  rmsFinal: Float32Array; // [dim]
  /** [vocab][dim]; the same array as tokenEmbedding when config.sharedClassifier */
  wcls: Float32Array;
}

const HEADER_BYTES = 7 * 4;

// Guards against nonsense headers before any size arithmetic: generous enough
// for every published LLaMA shape, small enough that products stay exact.
const LIMITS = {
  dim: 1 << 16,
  hiddenDim: 1 << 20,
  nLayers: 1 << 10,
  vocabSize: 1 << 24,
  seqLen: 1 << 24,
} as const;

function badHeader(message: string): ModelFormatError {
  return new ModelFormatError('bad_header', `llama2.c checkpoint header: ${message}`);
}

/** Validates the 7 header integers and derives the config (throws ModelFormatError 'bad_header'). */
export function configFromHeader(header: readonly number[]): LlamaConfig {
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = header;
  const vocabSize = Math.abs(rawVocab);
  const named = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen };
  for (const [key, value] of Object.entries(named)) {
    if (!Number.isInteger(value) || value <= 0) throw badHeader(`${key} must be a positive integer, got ${value}`);
  }
  for (const [key, limit] of Object.entries(LIMITS)) {
    const value = named[key as keyof typeof LIMITS];
    if (value > limit) throw badHeader(`${key} = ${value} is implausibly large (limit ${limit})`);
  }
  if (nHeads > dim || dim % nHeads !== 0) throw badHeader(`dim ${dim} is not a multiple of n_heads ${nHeads}`);
  if (nKvHeads > nHeads || nHeads % nKvHeads !== 0) {
    throw badHeader(`n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  }
  const headSize = dim / nHeads;
  // RoPE rotates adjacent pairs inside each head, so a head needs an even width.
  if (headSize % 2 !== 0) throw badHeader(`head size ${headSize} (dim / n_heads) must be even`);
  return {
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize,
    seqLen,
    headSize,
    kvDim: (dim * nKvHeads) / nHeads,
    sharedClassifier: rawVocab > 0,
  };
}

/** Number of float32 values after the header, in file order (RoPE tables included, unused). */
export function tensorLengths(c: LlamaConfig): Array<[string, number]> {
  const L = c.nLayers;
  const lengths: Array<[string, number]> = [
    ['token_embedding', c.vocabSize * c.dim],
    ['rms_att', L * c.dim],
    ['wq', L * c.dim * c.dim],
    ['wk', L * c.dim * c.kvDim],
    ['wv', L * c.dim * c.kvDim],
    ['wo', L * c.dim * c.dim],
    ['rms_ffn', L * c.dim],
    ['w1', L * c.hiddenDim * c.dim],
    ['w2', L * c.dim * c.hiddenDim],
    ['w3', L * c.hiddenDim * c.dim],
    ['rms_final', c.dim],
    ['freq_cis_real', (c.seqLen * c.headSize) / 2],
    ['freq_cis_imag', (c.seqLen * c.headSize) / 2],
  ];
  if (!c.sharedClassifier) lengths.push(['wcls', c.vocabSize * c.dim]);
  return lengths;
}

/** Total byte size a checkpoint with this config must have. */
export function checkpointByteLength(config: LlamaConfig): number {
  let floats = 0;
  for (const [, n] of tensorLengths(config)) floats += n;
  return HEADER_BYTES + 4 * floats;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** All floats after the header; a zero-copy view when alignment and endianness allow. */
function floatsAfterHeader(bytes: Uint8Array, count: number): Float32Array {
  const start = bytes.byteOffset + HEADER_BYTES;
  if (LITTLE_ENDIAN_HOST && start % 4 === 0) return new Float32Array(bytes.buffer, start, count);
  const view = new DataView(bytes.buffer, start, count * 4);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * Parses a llama2.c "legacy" checkpoint (7 int32 header, then float32 tensors).
 * The returned arrays alias `bytes` when possible: do not mutate the buffer afterwards.
 */
export function parseLlama2cCheckpoint(bytes: Uint8Array): LlamaWeights {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new ModelFormatError('truncated', `llama2.c checkpoint: ${bytes.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`, HEADER_BYTES, bytes.byteLength);
  }
  const headerView = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const header = Array.from({ length: 7 }, (_, i) => headerView.getInt32(i * 4, true));
  const config = configFromHeader(header);

  const expected = checkpointByteLength(config);
  if (bytes.byteLength !== expected) {
    const short = bytes.byteLength < expected;
    throw new ModelFormatError(
      short ? 'truncated' : 'size_mismatch',
      `llama2.c checkpoint: header ${JSON.stringify(header)} implies ${expected} bytes, file has ` + `${bytes.byteLength} (${short ? 'truncated' : `${bytes.byteLength - expected} trailing bytes`})`,
      expected,
      bytes.byteLength,
    );
  }

  const floats = floatsAfterHeader(bytes, (expected - HEADER_BYTES) / 4);
  const tensors = new Map<string, Float32Array>();
  let offset = 0;
  for (const [name, n] of tensorLengths(config)) {
    tensors.set(name, floats.subarray(offset, offset + n));
    offset += n;
  }
  const tensor = (name: string): Float32Array => tensors.get(name)!;
  // Slice layer l's block of `per` floats out of a stacked [nLayers][...] tensor.
  const layerSlice = (name: string, l: number, per: number): Float32Array => tensor(name).subarray(l * per, (l + 1) * per);

  const { dim, hiddenDim, kvDim } = config;
  const layers: LlamaLayerWeights[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    layers.push({
      rmsAtt: layerSlice('rms_att', l, dim),
      wq: layerSlice('wq', l, dim * dim),
      wk: layerSlice('wk', l, dim * kvDim),
      wv: layerSlice('wv', l, dim * kvDim),
      wo: layerSlice('wo', l, dim * dim),
      rmsFfn: layerSlice('rms_ffn', l, dim),
      w1: layerSlice('w1', l, hiddenDim * dim),
      w2: layerSlice('w2', l, dim * hiddenDim),
      w3: layerSlice('w3', l, hiddenDim * dim),
    });
  }
  const tokenEmbedding = tensor('token_embedding');
  return {
    config,
    tokenEmbedding,
    layers,
    rmsFinal: tensor('rms_final'),
    wcls: config.sharedClassifier ? tokenEmbedding : tensor('wcls'),
  };
}
