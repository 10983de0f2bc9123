import type { LlamaWeights } from '../checkpoint.ts';
import { LLAMA2C_MAGIC, LLAMA2C_VERSIONED_HEADER_BYTES } from './llama2c-file.ts';
import { encodeF32 } from './tensor-encoding.ts';

// Writers for llama2.c's checkpoint formats, following export.py
// (legacy_export, version1_export, version2_export) tensor by tensor.

type Part = 'rmsAtt' | 'wq' | 'wk' | 'wv' | 'wo' | 'rmsFfn' | 'w1' | 'w2' | 'w3';
const stack = (w: LlamaWeights, key: Part): Float32Array[] => w.layers.map((l) => l[key]);

function ints(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setInt32(i * 4, v, true));
  return out;
}

/** RoPE tables as llama2.c's model.py precomputes them (freqs_cos, freqs_sin for seq_len positions). */
function ropeTables(w: LlamaWeights): [Float32Array, Float32Array] {
  const { seqLen, headSize } = w.config;
  const half = headSize / 2;
  const cos = new Float32Array(seqLen * half);
  const sin = new Float32Array(seqLen * half);
  for (let p = 0; p < seqLen; p++) {
    for (let i = 0; i < half; i++) {
      const freq = 1 / Math.pow(10000, (2 * i) / headSize);
      cos[p * half + i] = Math.cos(p * freq);
      sin[p * half + i] = Math.sin(p * freq);
    }
  }
  return [cos, sin];
}

function header7(w: LlamaWeights, signedVocab: boolean): number[] {
  const c = w.config;
  const vocab = signedVocab && !c.sharedClassifier ? -c.vocabSize : c.vocabSize;
  return [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, vocab, c.seqLen];
}

/** Legacy (version 0) checkpoint: 7 ints, tensors, RoPE tables, then wcls when not shared. */
export function* llama2cLegacyChunks(w: LlamaWeights): Generator<Uint8Array> {
  yield ints(header7(w, true));
  yield encodeF32(w.tokenEmbedding);
  for (const key of ['rmsAtt', 'wq', 'wk', 'wv', 'wo', 'rmsFfn', 'w1', 'w2', 'w3'] as const) for (const t of stack(w, key)) yield encodeF32(t);
  yield encodeF32(w.rmsFinal);
  for (const t of ropeTables(w)) yield encodeF32(t);
  if (!w.config.sharedClassifier) yield encodeF32(w.wcls);
}

function versionedHeader(w: LlamaWeights, version: number, groupSize?: number): Uint8Array {
  const out = new Uint8Array(LLAMA2C_VERSIONED_HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, LLAMA2C_MAGIC, true);
  view.setInt32(4, version, true);
  header7(w, false).forEach((v, i) => view.setInt32(8 + 4 * i, v, true));
  view.setUint8(36, w.config.sharedClassifier ? 1 : 0);
  if (groupSize !== undefined) view.setInt32(37, groupSize, true);
  return out;
}

const MATRICES = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;
function matrices(w: LlamaWeights): Float32Array[] {
  const out = [w.tokenEmbedding];
  for (const key of MATRICES) out.push(...stack(w, key));
  if (!w.config.sharedClassifier) out.push(w.wcls);
  return out;
}

/** Version 1 export: 256-byte header, norms first, then the fp32 matrices. */
export function* llama2cV1Chunks(w: LlamaWeights): Generator<Uint8Array> {
  yield versionedHeader(w, 1);
  for (const t of [...stack(w, 'rmsAtt'), ...stack(w, 'rmsFfn'), w.rmsFinal]) yield encodeF32(t);
  for (const t of matrices(w)) yield encodeF32(t);
}

/** export.py quantize_q80: symmetric int8 per group, scale = max|w| / 127. */
function quantize(t: Float32Array, groupSize: number): { q: Int8Array; s: Float32Array } {
  const q = new Int8Array(t.length);
  const s = new Float32Array(t.length / groupSize);
  for (let g = 0; g < s.length; g++) {
    let max = 0;
    for (let i = 0; i < groupSize; i++) max = Math.max(max, Math.abs(t[g * groupSize + i]));
    const scale = Math.fround(max / 127);
    s[g] = scale;
    for (let i = 0; i < groupSize; i++) q[g * groupSize + i] = scale === 0 ? 0 : Math.round(Math.fround(t[g * groupSize + i] / scale));
  }
  return { q, s };
}

/** Version 2 export: norms in fp32, then every matrix's int8 values, then all their scales. */
export function* llama2cV2Chunks(w: LlamaWeights, groupSize = 64): Generator<Uint8Array> {
  let g = groupSize;
  while (w.config.dim % g !== 0) g /= 2; // export.py's back-off
  yield versionedHeader(w, 2, g);
  for (const t of [...stack(w, 'rmsAtt'), ...stack(w, 'rmsFfn'), w.rmsFinal]) yield encodeF32(t);
  const scales: Float32Array[] = [];
  for (const t of matrices(w)) {
    const { q, s } = quantize(t, g);
    scales.push(s);
    yield new Uint8Array(q.buffer);
  }
  for (const s of scales) yield encodeF32(s);
}
