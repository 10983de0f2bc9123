import { encodeQ8_0, f32ToBf16, f32ToF16 } from './dtypes.ts';

/** Element encodings the writers produce. */
export type TensorDtype = 'F32' | 'F16' | 'BF16' | 'Q8_0';

export function encodeF32(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

function encode16(values: Float32Array, convert: (v: number) => number): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, convert(values[i]), true);
  return out;
}

export function encodeTensor(values: Float32Array, dtype: TensorDtype): Uint8Array {
  switch (dtype) {
    case 'F32':
      return encodeF32(values);
    case 'F16':
      return encode16(values, f32ToF16);
    case 'BF16':
      return encode16(values, f32ToBf16);
    case 'Q8_0':
      return encodeQ8_0(values);
  }
}

/** Bytes of `count` values in `dtype`. */
export function encodedLength(count: number, dtype: TensorDtype): number {
  return dtype === 'F32' ? count * 4 : dtype === 'Q8_0' ? (count / 32) * 34 : count * 2;
}

/** Joins chunks (tests and small models; the CLI writes chunks one by one). */
export function concatChunks(chunks: Iterable<Uint8Array>): Uint8Array {
  const list = [...chunks];
  const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of list) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
