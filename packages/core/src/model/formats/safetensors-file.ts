import type { ByteSource } from './byte-source.ts';
import { decodeBf16, decodeF16, decodeF32 } from './dtypes.ts';
import { ModelFileError } from './model-file-error.ts';

// safetensors: u64 header length, a JSON header {name: {dtype, shape,
// data_offsets}}, then the raw tensor bytes. Parsed by hand: it is 30 lines,
// and readers on npm either pull whole files into memory or need native code.

export interface SafetensorsTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  source: ByteSource;
  tensors: Map<string, SafetensorsTensorInfo>;
}

const BYTES_PER: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
const MAX_HEADER = 100 * 1024 * 1024; // the spec's own limit

export function parseSafetensors(source: ByteSource): SafetensorsFile {
  const file = source.name;
  if (source.size < 8) throw new ModelFileError('truncated', file, 'shorter than the 8-byte safetensors header length', { expected: 8, got: source.size });
  const lenBytes = source.read(0, 8);
  const headerLength = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER, source.size - 8))) {
    throw new ModelFileError(headerLength > BigInt(MAX_HEADER) ? 'bad_header' : 'truncated', file, `safetensors header of ${headerLength} bytes does not fit the file`, {
      expected: `<= ${Math.min(MAX_HEADER, source.size - 8)}`,
      got: headerLength.toString(),
    });
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(source.read(8, n)));
  } catch (e) {
    throw new ModelFileError('bad_header', file, `safetensors header is not JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ModelFileError('bad_header', file, 'safetensors header is not a JSON object');
  const dataStart = 8 + n;
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const shape = v?.shape;
    const offsets = v?.data_offsets;
    if (
      typeof v?.dtype !== 'string' ||
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      offsets[1] < offsets[0]
    ) {
      throw new ModelFileError('bad_header', file, 'needs {dtype, shape, data_offsets: [begin, end]}', { tensor: name });
    }
    const begin = dataStart + offsets[0];
    const end = dataStart + offsets[1];
    if (end > source.size) throw new ModelFileError('truncated', file, `data ends at byte ${end}, the file has ${source.size}`, { tensor: name, expected: end, got: source.size });
    tensors.set(name, { name, dtype: v.dtype, shape: shape as number[], begin, end });
  }
  return { source, tensors };
}

/** One tensor as float32 (F32, F16, BF16), after checking its shape. */
export function readSafetensor(st: SafetensorsFile, name: string, shape: number[]): Float32Array {
  const file = st.source.name;
  const info = st.tensors.get(name);
  if (!info) throw new ModelFileError('missing_tensor', file, 'is missing', { tensor: name });
  if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new ModelFileError('bad_shape', file, `has shape [${info.shape}], expected [${shape}]`, { tensor: name, expected: shape, got: info.shape });
  }
  const per = BYTES_PER[info.dtype];
  if (per === undefined) {
    throw new ModelFileError('unsupported_dtype', file, `dtype ${info.dtype} is not supported (expected F32, F16 or BF16)`, { tensor: name, expected: Object.keys(BYTES_PER), got: info.dtype });
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (info.end - info.begin !== count * per) {
    throw new ModelFileError('bad_header', file, `holds ${info.end - info.begin} bytes, ${info.dtype}[${shape}] needs ${count * per}`, {
      tensor: name,
      expected: count * per,
      got: info.end - info.begin,
    });
  }
  const raw = st.source.read(info.begin, count * per);
  return info.dtype === 'F32' ? decodeF32(raw, count) : info.dtype === 'F16' ? decodeF16(raw, count) : decodeBf16(raw, count);
}
