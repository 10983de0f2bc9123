import { WireFormatError } from '../errors/wire-format-error.ts';
import { inflateBounded, type Inflate } from './bounded-inflate.ts';
import type { Preset } from './presets.ts';

/**
 * Size rules for every SEAL object that crosses a trust boundary (client
 * keys and ciphertexts at the relay, relay responses in the SDK), checked
 * before SEAL allocates anything for it.
 *
 * SEAL's serialization (native/src/seal/serialization.h) starts with a
 * 16-byte SEALHeader:
 *
 *   offset size field
 *   0      2    magic 0xA15E (LE)
 *   2      1    header size (16)
 *   3      1    version major (4)
 *   4      1    version minor
 *   5      1    compression: 0 none, 1 zlib, 2 zstd
 *   6      2    reserved, zero
 *   8      8    size of the whole serialization in bytes (u64 LE)
 *
 * The largest objects a preset allows, uncompressed (SEAL 4.1 layouts):
 * - a ciphertext: header 16 + parms_id 32 + NTT flag 1 + five u64/f64 fields
 *   40 + the data array (its own 16-byte header and a u64 count) +
 *   `polys × primes × N` u64s; `CIPHERTEXT_FIXED_BYTES` is the 113 bytes of
 *   framing. A seeded ciphertext stores one polynomial and an 81-byte seed,
 *   so it is smaller than the full 2-polynomial one.
 * - Galois keys: header 16 + parms_id 32 + u64 slot count, then per Galois
 *   element slot (at most N of them) a u64 key count and that many
 *   key-switching ciphertexts (one per data prime, each over every prime).
 */
export const SEAL_HEADER_BYTES = 16;
const SEAL_MAGIC = 0xa15e;
const SEAL_VERSION_MAJOR = 4;
const CIPHERTEXT_FIXED_BYTES = 113;
const KEYS_FIXED_BYTES = SEAL_HEADER_BYTES + 32 + 8;
const COMPRESSION = ['none', 'zlib', 'zstd'] as const;
export type SealCompression = (typeof COMPRESSION)[number];

export interface SealHeader {
  readonly compression: SealCompression;
  /** Total serialized size, header included (for compressed objects: the compressed size). */
  readonly size: number;
}

/**
 * What an object must be; `galoisKeys.maxKeys` is the number of rotation
 * steps the plan allows. A public key is serialized as its ciphertext (two
 * polynomials) at the key level, i.e. over every prime including the special one.
 */
export type SealObjectRule = { kind: 'ciphertext'; primes?: number } | { kind: 'galoisKeys'; maxKeys: number } | { kind: 'publicKey' };

/** Bytes of one serialized full (not seeded) ciphertext of `polys` polynomials over `primes` primes. */
export function ciphertextSerializedBytes(preset: Preset, primes: number, polys = 2): number {
  return CIPHERTEXT_FIXED_BYTES + polys * primes * preset.polyModulusDegree * 8;
}

/** The exact largest uncompressed serialization `rule` allows under `preset`. */
export function maxSealObjectBytes(preset: Preset, rule: SealObjectRule): number {
  const dataPrimes = preset.dataPrimeBits.length;
  if (rule.kind === 'ciphertext') return ciphertextSerializedBytes(preset, rule.primes ?? dataPrimes);
  if (rule.kind === 'publicKey') return ciphertextSerializedBytes(preset, preset.coeffModulusBits.length);
  const keyCiphertext = ciphertextSerializedBytes(preset, preset.coeffModulusBits.length);
  // Every slot's key count is in the 8·N term; each key adds its ciphertexts.
  return KEYS_FIXED_BYTES + 8 * preset.polyModulusDegree + rule.maxKeys * dataPrimes * keyCiphertext;
}

/** Largest compressed size worth inflating: incompressible data grows by a few bytes per block. */
function maxCompressedBytes(maxBytes: number): number {
  return maxBytes + 64 + Math.ceil(maxBytes / 16_384) * 5;
}

const bad = (code: string, message: string, details: { expected?: unknown; got?: unknown } = {}) => new WireFormatError(code, message, details);

/** Parse and check a SEALHeader at `offset`; `size` must fit in `available` bytes. */
export function readSealHeader(bytes: Uint8Array, offset = 0, available = bytes.length - offset): SealHeader {
  if (available < SEAL_HEADER_BYTES) throw bad('bad_seal_header', 'SEAL object shorter than its header', { expected: `>= ${SEAL_HEADER_BYTES}`, got: available });
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, SEAL_HEADER_BYTES);
  if (view.getUint16(0, true) !== SEAL_MAGIC || view.getUint8(2) !== SEAL_HEADER_BYTES) throw bad('bad_seal_header', 'not a SEAL serialization');
  if (view.getUint8(3) !== SEAL_VERSION_MAJOR) throw bad('bad_seal_header', 'unsupported SEAL version', { expected: SEAL_VERSION_MAJOR, got: view.getUint8(3) });
  const compression = COMPRESSION[view.getUint8(5)];
  if (!compression) throw bad('bad_compression', 'unknown SEAL compression mode', { expected: [0, 1, 2], got: view.getUint8(5) });
  if (view.getUint16(6, true) !== 0) throw bad('bad_seal_header', 'reserved SEAL header bytes must be zero');
  const size = view.getBigUint64(8, true);
  if (size < BigInt(SEAL_HEADER_BYTES) || size > BigInt(available))
    throw bad('bad_seal_header', 'SEAL header size does not match the bytes sent', { expected: `${SEAL_HEADER_BYTES}..${available}`, got: String(size) });
  return { compression, size: Number(size) };
}

/**
 * Check a SEAL object against `rule` and return it uncompressed, ready for
 * `loadFromArray`: the header must describe exactly these bytes, a
 * compressed payload is inflated into at most the rule's exact maximum, and
 * the object's own counts (polynomials, primes, key slots, keys) are checked
 * before SEAL sizes any allocation by them. Throws WireFormatError
 * (`bad_seal_header`, `bad_compression`, `seal_object_too_large`,
 * `inflation_limit`, `bad_seal_object`). `inflate` defaults to the pure
 * JavaScript inflater; the relay passes Node's native one (same bounds).
 */
export function boundSealObject(bytes: Uint8Array, preset: Preset, rule: SealObjectRule, inflate: Inflate = inflateBounded): Uint8Array {
  const max = maxSealObjectBytes(preset, rule);
  const header = readSealHeader(bytes);
  if (header.size !== bytes.length) throw bad('bad_seal_header', 'bytes after the SEAL object', { expected: header.size, got: bytes.length });
  let plain = bytes;
  if (header.compression === 'none') {
    if (bytes.length > max) throw bad('seal_object_too_large', `SEAL ${rule.kind} larger than ${preset.id} allows`, { expected: `<= ${max}`, got: bytes.length });
  } else {
    if (bytes.length > maxCompressedBytes(max))
      throw bad('seal_object_too_large', `compressed SEAL ${rule.kind} larger than ${preset.id} allows`, { expected: `<= ${maxCompressedBytes(max)}`, got: bytes.length });
    const body = inflate(header.compression, bytes.subarray(SEAL_HEADER_BYTES), max - SEAL_HEADER_BYTES);
    plain = new Uint8Array(SEAL_HEADER_BYTES + body.length);
    plain.set(bytes.subarray(0, SEAL_HEADER_BYTES));
    plain.set(body, SEAL_HEADER_BYTES);
    const view = new DataView(plain.buffer);
    view.setUint8(5, 0);
    view.setBigUint64(8, BigInt(plain.length), true);
  }
  if (rule.kind === 'ciphertext') checkCiphertext(plain, 0, preset, rule.primes ?? preset.dataPrimeBits.length);
  else if (rule.kind === 'publicKey') checkCiphertext(plain, 0, preset, preset.coeffModulusBits.length);
  else checkGaloisKeys(plain, preset, rule.maxKeys);
  return plain;
}

/** A ciphertext's counts: 2 polynomials, degree N, at most `primes` primes (SEAL checks the rest against the context). */
function checkCiphertext(bytes: Uint8Array, offset: number, preset: Preset, primes: number): void {
  const fields = offset + SEAL_HEADER_BYTES + 32 + 1;
  if (fields + 24 > bytes.length) throw bad('bad_seal_object', 'truncated ciphertext');
  const view = new DataView(bytes.buffer, bytes.byteOffset + fields, 24);
  const polys = view.getBigUint64(0, true);
  const degree = view.getBigUint64(8, true);
  const count = view.getBigUint64(16, true);
  if (polys !== 2n) throw bad('bad_seal_object', 'a ciphertext has two polynomials', { expected: 2, got: String(polys) });
  if (degree !== BigInt(preset.polyModulusDegree)) throw bad('bad_seal_object', 'ciphertext degree does not match the preset', { expected: preset.polyModulusDegree, got: String(degree) });
  if (count < 1n || count > BigInt(primes)) throw bad('bad_seal_object', 'ciphertext has too many primes', { expected: `1..${primes}`, got: String(count) });
}

/**
 * Walk Galois keys' slot table: SEAL resizes its vectors by these counts
 * before reading any key, so a 64-byte object claiming 2^40 slots would
 * otherwise allocate gigabytes without any compression involved.
 */
function checkGaloisKeys(bytes: Uint8Array, preset: Preset, maxKeys: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = preset.polyModulusDegree;
  const perKey = preset.dataPrimeBits.length;
  const keyCiphertextMax = ciphertextSerializedBytes(preset, preset.coeffModulusBits.length);
  if (KEYS_FIXED_BYTES > bytes.length) throw bad('bad_seal_object', 'truncated Galois keys');
  const slots = view.getBigUint64(KEYS_FIXED_BYTES - 8, true);
  if (slots > BigInt(n)) throw bad('bad_seal_object', 'more Galois key slots than the ring has elements', { expected: `<= ${n}`, got: String(slots) });
  let offset = KEYS_FIXED_BYTES;
  let keys = 0;
  for (let slot = 0; slot < Number(slots); slot++) {
    if (offset + 8 > bytes.length) throw bad('bad_seal_object', 'truncated Galois keys');
    const count = view.getBigUint64(offset, true);
    offset += 8;
    if (count === 0n) continue;
    if (count !== BigInt(perKey)) throw bad('bad_seal_object', 'a Galois key has one ciphertext per data prime', { expected: perKey, got: String(count) });
    if (++keys > maxKeys) throw bad('too_many_galois_keys', 'more Galois keys than the model needs', { expected: `<= ${maxKeys}`, got: `> ${maxKeys}` });
    for (let i = 0; i < perKey; i++) {
      const inner = readSealHeader(bytes, offset);
      if (inner.compression !== 'none' || inner.size > keyCiphertextMax) throw bad('bad_seal_object', 'malformed key-switching ciphertext', { expected: `<= ${keyCiphertextMax}`, got: inner.size });
      checkCiphertext(bytes, offset, preset, preset.coeffModulusBits.length);
      offset += inner.size;
    }
  }
  if (offset !== bytes.length) throw bad('bad_seal_object', 'bytes after the Galois keys', { expected: offset, got: bytes.length });
}
