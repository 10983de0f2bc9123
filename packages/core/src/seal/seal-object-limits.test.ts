import { deflateSync, zstdCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CkksClient } from '../client/ckks-client.ts';
import { CkksContext } from './ckks-context.ts';
import { inflateBounded } from './bounded-inflate.ts';
import { boundSealObject, maxSealObjectBytes, readSealHeader, SEAL_HEADER_BYTES } from './seal-object-limits.ts';

// The fast test preset: the rules are the same functions of (N, primes) for every preset.
const PRESET = 'insecure-n2048-q109';
const STEPS = [1, 2, 4];

/** A SEAL object made of `header` (compression mode `mode`) and `payload`. */
function sealObject(mode: 0 | 1 | 2, payload: Uint8Array, declaredSize?: bigint): Uint8Array {
  const out = new Uint8Array(SEAL_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xa15e, true);
  out[2] = 16;
  out[3] = 4;
  out[4] = 1;
  out[5] = mode;
  view.setBigUint64(8, declaredSize ?? BigInt(out.length), true);
  out.set(payload, SEAL_HEADER_BYTES);
  return out;
}

/** Highly compressible inner bytes: a valid-looking ciphertext header followed by zeros. */
function bomb(bytes: number): Uint8Array {
  return new Uint8Array(bytes);
}

const withCode = (code: string) => expect.objectContaining({ name: 'WireFormatError', code });

describe('SEAL object limits', () => {
  let ctx: CkksContext;
  let client: CkksClient;
  beforeAll(async () => {
    ctx = await CkksContext.create(PRESET);
    client = CkksClient.generate(ctx);
  });
  afterAll(() => {
    client?.delete();
    ctx?.delete();
  });

  it('the ciphertext bound is exact: a full top-level ciphertext serializes to it, byte for byte', () => {
    const { seal } = ctx;
    const keygen = new seal.KeyGenerator(ctx.context);
    const secret = keygen.secretKey();
    const publicKey = keygen.createPublicKey();
    const encryptor = new seal.Encryptor(ctx.context, publicKey, secret);
    const pt = ctx.encode(new Float64Array(ctx.preset.slots).fill(0.25), 2 ** ctx.preset.inputScaleBits);
    const ct = new seal.Ciphertext();
    try {
      encryptor.encrypt(pt, ct);
      const bytes = ct.saveToArray(seal.ComprModeType.none) as Uint8Array;
      expect(bytes.length).toBe(maxSealObjectBytes(ctx.preset, { kind: 'ciphertext' }));
      expect(boundSealObject(bytes, ctx.preset, { kind: 'ciphertext' })).toBe(bytes);
      ctx.loadCiphertext(ct.saveToArray(seal.ComprModeType.zstd) as Uint8Array).delete();
      ctx.loadCiphertext(ct.saveToArray(seal.ComprModeType.zlib) as Uint8Array).delete();
    } finally {
      [ct, pt, encryptor, publicKey, secret, keygen].forEach((o) => o.delete());
    }
  });

  it('the Galois key bound is exact: full (unseeded) keys for k steps serialize to the bound for k keys', () => {
    const { seal } = ctx;
    const keygen = new seal.KeyGenerator(ctx.context);
    const keys = keygen.createGaloisKeysWithSteps(Int32Array.from(STEPS));
    try {
      const bytes = keys.saveToArray(seal.ComprModeType.none) as Uint8Array;
      const count = keys.size();
      expect(bytes.length).toBe(maxSealObjectBytes(ctx.preset, { kind: 'galoisKeys', maxKeys: count }));
      expect(() => boundSealObject(bytes, ctx.preset, { kind: 'galoisKeys', maxKeys: count - 1 })).toThrowError(withCode('seal_object_too_large'));
    } finally {
      keys.delete();
      keygen.delete();
    }
  });

  it('accepts what the client makes: seeded zstd ciphertexts and keys for exactly the steps', () => {
    const keys = client.makeGaloisKeys(STEPS);
    ctx.loadGaloisKeys(keys, STEPS.length).delete();
    expect(() => ctx.loadGaloisKeys(keys, STEPS.length - 1)).toThrowError(withCode('too_many_galois_keys'));
  });

  for (const [mode, name, compress] of [
    [2, 'zstd', (b: Uint8Array) => new Uint8Array(zstdCompressSync(b))],
    [1, 'zlib', (b: Uint8Array) => new Uint8Array(deflateSync(b, { level: 9 }))],
  ] as const) {
    it(`${name}: a payload that inflates past the preset's largest ciphertext is refused before SEAL sees it`, () => {
      const max = maxSealObjectBytes(ctx.preset, { kind: 'ciphertext' });
      const inflated = 32 * 1024 * 1024;
      const payload = compress(bomb(inflated));
      expect(payload.length).toBeLessThan(40_000);
      const object = sealObject(mode, payload);
      const before = process.memoryUsage().arrayBuffers;
      expect(() => ctx.loadCiphertext(object)).toThrowError(withCode('inflation_limit'));
      // Nothing near the inflated size was ever held (garbage not yet collected is counted too, hence the slack).
      expect(max).toBeLessThan(inflated / 64);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(inflated / 4);
    });

    it(`${name}: a payload within the bound but malformed is a typed error, not a SEAL crash`, () => {
      expect(() => ctx.loadCiphertext(sealObject(mode, compress(bomb(1000))))).toThrowError(withCode('bad_seal_object'));
      expect(() => ctx.loadCiphertext(sealObject(mode, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])))).toThrowError(withCode('bad_compression'));
    });
  }

  it('zstd: a frame declaring more than the bound is refused from its header alone', () => {
    // Frame header: magic, descriptor 0xA0 (4-byte content size, single segment), size 2^31, then one empty raw last block.
    const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0x80, 1, 0, 0]);
    expect(() => inflateBounded('zstd', frame, 1 << 20)).toThrowError(withCode('inflation_limit'));
    // A huge window without a declared size, a dictionary, and bytes after the frame are refused too.
    expect(() => inflateBounded('zstd', new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 1, 0, 0]), 1 << 20)).toThrowError(withCode('inflation_limit'));
    expect(() => inflateBounded('zstd', new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x21, 7, 9, 1, 0, 0]), 1 << 20)).toThrowError(withCode('bad_compression'));
    const good = new Uint8Array(zstdCompressSync(new Uint8Array(100)));
    expect(inflateBounded('zstd', good, 100)).toEqual(new Uint8Array(100));
    expect(() => inflateBounded('zstd', new Uint8Array([...good, ...good]), 1000)).toThrowError(withCode('bad_compression'));
  });

  it('zstd: a frame that lies about its size (declares little, inflates more) stops at the declared size', () => {
    const real = new Uint8Array(zstdCompressSync(new Uint8Array(5000), {}));
    const descriptor = real[4];
    expect(descriptor >> 6).toBe(1); // 2-byte content size field (value + 256)
    const lying = real.slice();
    lying[6] = 0;
    lying[7] = 0; // now declares 256 bytes
    expect(() => inflateBounded('zstd', lying, 1 << 20)).toThrowError(expect.objectContaining({ name: 'WireFormatError' }));
  });

  it('uncompressed: sizes beyond the bound, lying headers and absurd counts are refused', () => {
    const max = maxSealObjectBytes(ctx.preset, { kind: 'ciphertext' });
    expect(() => ctx.loadCiphertext(sealObject(0, new Uint8Array(max)))).toThrowError(withCode('seal_object_too_large'));
    expect(() => ctx.loadCiphertext(sealObject(0, new Uint8Array(100), 1n << 40n))).toThrowError(withCode('bad_seal_header'));
    expect(() => ctx.loadCiphertext(sealObject(3 as 0, new Uint8Array(100)))).toThrowError(withCode('bad_compression'));
    // Galois keys claiming 2^40 slots in 64 bytes: SEAL would resize a vector by that count.
    const slots = new Uint8Array(48);
    new DataView(slots.buffer).setBigUint64(32, 1n << 40n, true);
    expect(() => ctx.loadGaloisKeys(sealObject(0, slots), STEPS.length)).toThrowError(withCode('bad_seal_object'));
    expect(readSealHeader(sealObject(2, new Uint8Array(4)))).toEqual({ compression: 'zstd', size: 20 });
  });
});
