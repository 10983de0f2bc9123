import type { ByteSource } from './byte-source.ts';
import { decodeBf16, decodeF16, decodeF32, decodeQ8_0, Q8_0_BLOCK, Q8_0_BLOCK_BYTES } from './dtypes.ts';
import { ModelFileError } from './model-file-error.ts';

// GGUF (llama.cpp's model format), versions 2 and 3: a header of typed
// key/value metadata and tensor descriptions, then aligned tensor data. We
// parse it ourselves: @huggingface/gguf reads the metadata but not tensor data
// or dequantization, and the synthetic-model generator needs a writer anyway.

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

export const GGUF_VALUE = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;

/** ggml tensor types we dequantize, and the names of the others (for a clear refusal). */
export const GGML_TYPE = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 } as const;
const GGML_TYPE_NAMES: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  6: 'Q5_0',
  7: 'Q5_1',
  8: 'Q8_0',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  12: 'Q4_K',
  13: 'Q5_K',
  14: 'Q6_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  24: 'I8',
  25: 'I16',
  26: 'I32',
  27: 'I64',
  28: 'F64',
  29: 'IQ1_M',
  30: 'BF16',
  34: 'TQ1_0',
  35: 'TQ2_0',
};
export function ggmlTypeName(type: number): string {
  return GGML_TYPE_NAMES[type] ?? `type ${type}`;
}

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  type: number;
  /** Absolute byte offset in the file. */
  offset: number;
  elements: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensorInfo>;
}

const WINDOW = 1 << 20;
const utf8 = new TextDecoder();
const MAX_DIMS = 4;

/** Sequential reader over a ByteSource, fetching windows on demand. */
class Cursor {
  pos = 0;
  #buf: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(new ArrayBuffer(0));
  #start = 0;
  readonly #source: ByteSource;
  constructor(source: ByteSource) {
    this.#source = source;
  }
  #need(n: number, what: string): number {
    if (this.pos + n > this.#source.size) {
      throw new ModelFileError('truncated', this.#source.name, `GGUF header ends at byte ${this.#source.size} while reading ${what}`, { expected: this.pos + n, got: this.#source.size });
    }
    if (this.pos < this.#start || this.pos + n > this.#start + this.#buf.length) {
      this.#start = this.pos;
      this.#buf = this.#source.read(this.pos, Math.min(Math.max(n, WINDOW), this.#source.size - this.pos));
      this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
    }
    const at = this.pos - this.#start;
    this.pos += n;
    return at;
  }
  u8(what: string): number {
    const at = this.#need(1, what);
    return this.#view.getUint8(at);
  }
  i8(what: string): number {
    const at = this.#need(1, what);
    return this.#view.getInt8(at);
  }
  u16(what: string): number {
    const at = this.#need(2, what);
    return this.#view.getUint16(at, true);
  }
  i16(what: string): number {
    const at = this.#need(2, what);
    return this.#view.getInt16(at, true);
  }
  u32(what: string): number {
    const at = this.#need(4, what);
    return this.#view.getUint32(at, true);
  }
  i32(what: string): number {
    const at = this.#need(4, what);
    return this.#view.getInt32(at, true);
  }
  f32(what: string): number {
    const at = this.#need(4, what);
    return this.#view.getFloat32(at, true);
  }
  f64(what: string): number {
    const at = this.#need(8, what);
    return this.#view.getFloat64(at, true);
  }
  i64(what: string): bigint {
    const at = this.#need(8, what);
    return this.#view.getBigInt64(at, true);
  }
  /** A u64 that must fit a safe integer and stay below `limit` (sizes, counts, offsets). */
  count(what: string, limit: number): number {
    const at = this.#need(8, what);
    const v = this.#view.getBigUint64(at, true);
    if (v > BigInt(limit)) {
      throw new ModelFileError('bad_header', this.#source.name, `${what} is ${v}, more than the file can hold (${limit})`, { expected: `<= ${limit}`, got: v.toString() });
    }
    return Number(v);
  }
  string(what: string): string {
    const n = this.count(`length of ${what}`, this.#source.size - this.pos);
    const at = this.#need(n, what);
    return utf8.decode(this.#buf.subarray(at, at + n));
  }
}

function readValue(c: Cursor, type: number, key: string, remaining: () => number, file: string): GgufValue {
  switch (type) {
    case GGUF_VALUE.u8:
      return c.u8(key);
    case GGUF_VALUE.i8:
      return c.i8(key);
    case GGUF_VALUE.u16:
      return c.u16(key);
    case GGUF_VALUE.i16:
      return c.i16(key);
    case GGUF_VALUE.u32:
      return c.u32(key);
    case GGUF_VALUE.i32:
      return c.i32(key);
    case GGUF_VALUE.f32:
      return c.f32(key);
    case GGUF_VALUE.bool:
      return c.u8(key) !== 0;
    case GGUF_VALUE.string:
      return c.string(key);
    case GGUF_VALUE.u64:
      return c.count(key, Number.MAX_SAFE_INTEGER);
    case GGUF_VALUE.i64:
      return c.i64(key);
    case GGUF_VALUE.f64:
      return c.f64(key);
    case GGUF_VALUE.array: {
      const itemType = c.u32(`item type of ${key}`);
      if (itemType === GGUF_VALUE.array) throw new ModelFileError('bad_metadata', file, `${key}: nested arrays are not supported`);
      const n = c.count(`length of ${key}`, remaining());
      const out: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, itemType, key, remaining, file);
      return out;
    }
    default:
      throw new ModelFileError('bad_metadata', file, `${key} has unknown value type ${type}`, { expected: 'a GGUF value type 0..12', got: type });
  }
}

/** Parses a GGUF header (metadata and tensor table); tensor data stays in the source. */
export function parseGguf(source: ByteSource): GgufFile {
  const file = source.name;
  const c = new Cursor(source);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) throw new ModelFileError('bad_header', file, `not a GGUF file (magic 0x${magic.toString(16)})`, { expected: 'GGUF', got: magic });
  const version = c.u32('version');
  if (version !== 2 && version !== 3) throw new ModelFileError('bad_header', file, `GGUF version ${version} is not supported`, { expected: [2, 3], got: version });
  const remaining = () => source.size - c.pos;
  const tensorCount = c.count('tensor count', remaining());
  const kvCount = c.count('metadata count', remaining());
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key ${i}`);
    metadata.set(key, readValue(c, c.u32(`type of ${key}`), key, remaining, file));
  }
  const alignment = metadata.get('general.alignment') ?? 32;
  if (typeof alignment !== 'number' || alignment <= 0 || alignment % 8 !== 0) {
    throw new ModelFileError('bad_metadata', file, `general.alignment ${alignment} must be a positive multiple of 8`, { got: alignment });
  }
  const infos: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor name ${i}`);
    const nDims = c.u32(`dimension count of ${name}`);
    if (nDims < 1 || nDims > MAX_DIMS) throw new ModelFileError('bad_header', file, `${nDims} dimensions`, { tensor: name, expected: `1..${MAX_DIMS}`, got: nDims });
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      dims.push(c.count(`dimension ${d} of ${name}`, 1 << 30));
      elements *= dims[d];
    }
    if (elements > 2 ** 40) throw new ModelFileError('bad_header', file, `${elements} elements is implausible`, { tensor: name });
    const type = c.u32(`type of ${name}`);
    const offset = c.count(`offset of ${name}`, source.size);
    infos.push({ name, dims, type, offset, elements });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const info of infos) {
    const absolute = { ...info, offset: dataStart + info.offset };
    if (info.offset % alignment !== 0) throw new ModelFileError('bad_header', file, `offset ${info.offset} is not aligned to ${alignment}`, { tensor: info.name });
    if (tensors.has(info.name)) throw new ModelFileError('bad_header', file, 'appears twice', { tensor: info.name });
    tensors.set(info.name, absolute);
  }
  return { version, metadata, tensors };
}

/** Bytes a tensor of `type` with `elements` values occupies, or undefined for types we cannot read. */
export function ggmlByteLength(type: number, elements: number): number | undefined {
  switch (type) {
    case GGML_TYPE.F32:
      return elements * 4;
    case GGML_TYPE.F16:
    case GGML_TYPE.BF16:
      return elements * 2;
    case GGML_TYPE.Q8_0:
      return elements % Q8_0_BLOCK === 0 ? (elements / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES : undefined;
    default:
      return undefined;
  }
}

/** One tensor dequantized to float32 (f32, f16, bf16, q8_0; other types are refused by name). */
export function readGgufTensor(source: ByteSource, gguf: GgufFile, name: string): Float32Array {
  const info = gguf.tensors.get(name);
  if (!info) throw new ModelFileError('missing_tensor', source.name, 'is missing', { tensor: name });
  const bytes = ggmlByteLength(info.type, info.elements);
  if (bytes === undefined) {
    const typeName = ggmlTypeName(info.type);
    throw new ModelFileError(
      'unsupported_dtype',
      source.name,
      `type ${typeName} is not supported (expected F32, F16, BF16 or Q8_0${info.type === GGML_TYPE.Q8_0 ? ' with a multiple of 32 elements' : ''})`,
      { tensor: name, expected: ['F32', 'F16', 'BF16', 'Q8_0'], got: typeName },
    );
  }
  if (info.offset + bytes > source.size) {
    throw new ModelFileError('truncated', source.name, `data ends at byte ${info.offset + bytes}, the file has ${source.size}`, { tensor: name, expected: info.offset + bytes, got: source.size });
  }
  const raw = source.read(info.offset, bytes);
  switch (info.type) {
    case GGML_TYPE.F32:
      return decodeF32(raw, info.elements);
    case GGML_TYPE.F16:
      return decodeF16(raw, info.elements);
    case GGML_TYPE.BF16:
      return decodeBf16(raw, info.elements);
    default:
      return decodeQ8_0(raw, info.elements);
  }
}
