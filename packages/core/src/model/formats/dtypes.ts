// Element types of model files, dequantized to float32 at load.

/** IEEE half precision bits to a number. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Round-to-nearest-even float32 -> half bits (for writers). */
export function f32ToF16(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** float32 -> bfloat16 bits, round to nearest even (for writers). */
export function f32ToBf16(value: number): number {
  const x = new Uint32Array(new Float32Array([value]).buffer)[0];
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

const scratch = new DataView(new ArrayBuffer(4));
export function bf16ToF32(b: number): number {
  scratch.setUint32(0, b << 16, true);
  return scratch.getFloat32(0, true);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** float32 values: a view on `bytes` when aligned on a little-endian host (no copy; do not mutate `bytes` afterwards), else a decoded copy. */
export function decodeF32(bytes: Uint8Array, count: number): Float32Array {
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 4);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

const F16_TABLE = Float32Array.from({ length: 65536 }, (_, h) => f16ToF32(h));

export function decodeF16(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 2 === 0) {
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i++) out[i] = F16_TABLE[halves[i]];
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  for (let i = 0; i < count; i++) out[i] = F16_TABLE[view.getUint16(i * 2, true)];
  return out;
}

export function decodeBf16(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const u32 = new Uint32Array(out.buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  for (let i = 0; i < count; i++) u32[i] = view.getUint16(i * 2, true) << 16;
  return out;
}

/** ggml Q8_0: blocks of 32 values, each a float16 scale then 32 int8. */
export const Q8_0_BLOCK = 32;
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

export function decodeQ8_0(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const ints = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b * Q8_0_BLOCK < count; b++) {
    const base = b * Q8_0_BLOCK_BYTES;
    const d = F16_TABLE[bytes[base] | (bytes[base + 1] << 8)];
    const o = b * Q8_0_BLOCK;
    for (let i = 0; i < Q8_0_BLOCK; i++) out[o + i] = d * ints[base + 2 + i];
  }
  return out;
}

/** Q8_0 encoding of `values` (length a multiple of 32), as llama.cpp quantize_row_q8_0_ref. */
export function encodeQ8_0(values: Float32Array): Uint8Array {
  const blocks = values.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(values[b * Q8_0_BLOCK + i]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    view.setUint16(b * Q8_0_BLOCK_BYTES, f32ToF16(d), true);
    for (let i = 0; i < Q8_0_BLOCK; i++) view.setInt8(b * Q8_0_BLOCK_BYTES + 2 + i, Math.round(values[b * Q8_0_BLOCK + i] * id));
  }
  return out;
}
