import { checkpointByteLength, configFromHeader, tensorLengths } from '../checkpoint.ts';
import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from '../checkpoint.ts';
import type { ByteSource } from './byte-source.ts';
import { decodeF32 } from './dtypes.ts';
import { llamaParameterCount, llamaTensorShapes, type LoadedModel } from './loaded-model.ts';
import { ModelFileError } from './model-file-error.ts';

/** "ak42": first uint32 of llama2.c's versioned exports (export.py version1/version2). */
export const LLAMA2C_MAGIC = 0x616b3432;
export const LLAMA2C_VERSIONED_HEADER_BYTES = 256;
const LEGACY_HEADER_BYTES = 28;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** float32 values at an offset: a view on the read bytes when aligned, else a decoded copy. */
function readF32(source: ByteSource, offset: number, count: number): Float32Array {
  const bytes = source.read(offset, count * 4);
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  return decodeF32(bytes, count);
}

function header(source: ByteSource, offset: number, count: number): number[] {
  const bytes = source.read(offset, count * 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true));
}

function config(source: ByteSource, values: number[]): LlamaConfig {
  try {
    return configFromHeader(values);
  } catch (e) {
    throw new ModelFileError('bad_header', source.name, (e as Error).message, { cause: e });
  }
}

function checkSize(source: ByteSource, expected: number, what: string): void {
  if (source.size !== expected) {
    throw new ModelFileError(source.size < expected ? 'truncated' : 'bad_header', source.name, `${what} implies ${expected} bytes, the file has ${source.size}`, { expected, got: source.size });
  }
}

const PER_LAYER: Array<keyof LlamaLayerWeights> = ['rmsAtt', 'wq', 'wk', 'wv', 'wo', 'rmsFfn', 'w1', 'w2', 'w3'];

function weightsFrom(c: LlamaConfig, tensor: (name: string) => Float32Array): LlamaWeights {
  const shapes = llamaTensorShapes(c);
  const layers = Array.from({ length: c.nLayers }, (_, l) => {
    const layer = {} as LlamaLayerWeights;
    for (const key of PER_LAYER) layer[key] = tensor(key).subarray(l * shapes[key], (l + 1) * shapes[key]);
    return layer;
  });
  const tokenEmbedding = tensor('tokenEmbedding');
  return { config: c, tokenEmbedding, layers, rmsFinal: tensor('rmsFinal'), wcls: c.sharedClassifier ? tokenEmbedding : tensor('wcls') };
}

// llama2.c's legacy names (tensorLengths) to ours.
const LEGACY_NAMES: Record<string, string> = {
  token_embedding: 'tokenEmbedding',
  rms_att: 'rmsAtt',
  wq: 'wq',
  wk: 'wk',
  wv: 'wv',
  wo: 'wo',
  rms_ffn: 'rmsFfn',
  w1: 'w1',
  w2: 'w2',
  w3: 'w3',
  rms_final: 'rmsFinal',
  wcls: 'wcls',
};

function loadLegacy(source: ByteSource): LoadedModel {
  const c = config(source, header(source, 0, 7));
  checkSize(source, checkpointByteLength(c), 'the legacy header');
  const tensors = new Map<string, Float32Array>();
  let offset = LEGACY_HEADER_BYTES;
  for (const [name, n] of tensorLengths(c)) {
    if (LEGACY_NAMES[name]) tensors.set(LEGACY_NAMES[name], readF32(source, offset, n));
    offset += 4 * n;
  }
  return { format: 'llama2c', source: source.name, architecture: 'llama', weights: weightsFrom(c, (n) => tensors.get(n)!), parameterCount: llamaParameterCount(c) };
}

/** Tensors of the versioned exports in file order, with their element counts (all layers stacked). */
function stacked(c: LlamaConfig, names: string[]): Array<[string, number]> {
  const shapes = llamaTensorShapes(c) as Record<string, number>;
  const single: Record<string, number> = { rmsFinal: c.dim, tokenEmbedding: c.vocabSize * c.dim, wcls: c.vocabSize * c.dim };
  return names.map((n) => [n, single[n] ?? shapes[n] * c.nLayers]);
}

function loadVersioned(source: ByteSource): LoadedModel {
  if (source.size < LLAMA2C_VERSIONED_HEADER_BYTES) {
    throw new ModelFileError('truncated', source.name, `shorter than the ${LLAMA2C_VERSIONED_HEADER_BYTES}-byte llama2.c header`, { expected: LLAMA2C_VERSIONED_HEADER_BYTES, got: source.size });
  }
  const head = source.read(0, LLAMA2C_VERSIONED_HEADER_BYTES);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const version = view.getInt32(4, true);
  const values = Array.from({ length: 7 }, (_, i) => view.getInt32(8 + 4 * i, true));
  const shared = view.getUint8(36);
  if (shared > 1) throw new ModelFileError('bad_header', source.name, `shared_classifier flag is ${shared}, expected 0 or 1`, { expected: '0 or 1', got: shared });
  if (values[5] <= 0) throw new ModelFileError('bad_header', source.name, `vocab_size ${values[5]} must be positive in a versioned header`);
  // The versioned header says "shared" with a flag; configFromHeader reads it from the sign.
  const c = config(source, [...values.slice(0, 5), shared ? values[5] : -values[5], values[6]]);
  const matrices = ['tokenEmbedding', 'wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3', ...(c.sharedClassifier ? [] : ['wcls'])];
  const norms = ['rmsAtt', 'rmsFfn', 'rmsFinal'];

  if (version === 1) {
    const order = stacked(c, [...norms, ...matrices]);
    let total = LLAMA2C_VERSIONED_HEADER_BYTES;
    for (const [, n] of order) total += 4 * n;
    checkSize(source, total, 'the version 1 header');
    const tensors = new Map<string, Float32Array>();
    let offset = LLAMA2C_VERSIONED_HEADER_BYTES;
    for (const [name, n] of order) {
      tensors.set(name, readF32(source, offset, n));
      offset += 4 * n;
    }
    return { format: 'llama2c-v1', source: source.name, architecture: 'llama', weights: weightsFrom(c, (n) => tensors.get(n)!), parameterCount: llamaParameterCount(c) };
  }
  if (version === 2) {
    const groupSize = view.getInt32(37, true);
    const q = stacked(c, matrices);
    if (!(groupSize > 0) || q.some(([, n]) => n % groupSize !== 0)) {
      throw new ModelFileError('bad_header', source.name, `group_size ${groupSize} does not divide every quantized tensor`, { got: groupSize });
    }
    const normOrder = stacked(c, norms);
    let total = LLAMA2C_VERSIONED_HEADER_BYTES;
    for (const [, n] of normOrder) total += 4 * n;
    for (const [, n] of q) total += n + (4 * n) / groupSize;
    checkSize(source, total, `the version 2 header (group size ${groupSize})`);
    const tensors = new Map<string, Float32Array>();
    let offset = LLAMA2C_VERSIONED_HEADER_BYTES;
    for (const [name, n] of normOrder) {
      tensors.set(name, readF32(source, offset, n));
      offset += 4 * n;
    }
    // All int8 tensors first, then all their scales (export.py version2_export).
    let scaleOffset = offset;
    for (const [, n] of q) scaleOffset += n;
    for (const [name, n] of q) {
      const ints = source.read(offset, n);
      const scales = readF32(source, scaleOffset, n / groupSize);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = ((ints[i] << 24) >> 24) * scales[Math.floor(i / groupSize)];
      tensors.set(name, out);
      offset += n;
      scaleOffset += (4 * n) / groupSize;
    }
    return { format: 'llama2c-v2', source: source.name, architecture: 'llama', weights: weightsFrom(c, (n) => tensors.get(n)!), parameterCount: llamaParameterCount(c) };
  }
  throw new ModelFileError('bad_header', source.name, `llama2.c export version ${version} is not supported (expected 1 or 2)`, { expected: [1, 2], got: version });
}

/** True when the file starts with the versioned-export magic. */
export function isVersionedLlama2c(source: ByteSource): boolean {
  if (source.size < 4) return false;
  const b = source.read(0, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) === LLAMA2C_MAGIC;
}

/** Loads a llama2.c checkpoint: legacy (7-int header) or versioned export 1 (fp32) / 2 (int8 groups). */
export function loadLlama2c(source: ByteSource): LoadedModel {
  if (isVersionedLlama2c(source)) return loadVersioned(source);
  if (source.size < LEGACY_HEADER_BYTES) {
    throw new ModelFileError('truncated', source.name, `shorter than the ${LEGACY_HEADER_BYTES}-byte llama2.c header`, { expected: LEGACY_HEADER_BYTES, got: source.size });
  }
  return loadLegacy(source);
}
