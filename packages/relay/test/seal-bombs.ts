// Test support: hostile SEAL serializations, small on the wire and huge when
// inflated, in every compression mode SEAL knows.
import { deflateSync } from 'node:zlib';

const MiB = 1024 * 1024;

/** A SEALHeader (magic 0xA15E, SEAL 4.1, `mode`) followed by `payload`; the header's size says exactly these bytes. */
export function sealObject(mode: 0 | 1 | 2, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xa15e, true);
  out.set([16, 4, 1, mode], 2);
  view.setBigUint64(8, BigInt(out.length), true);
  out.set(payload, 16);
  return out;
}

/**
 * A Zstandard frame of RLE blocks: 4 bytes per 128 KiB inflated. It declares
 * `declared` bytes in its header (a small, plausible size) but inflates to
 * `inflated`: SEAL's loader would inflate to the end.
 */
export function zstdRleBomb(inflated: number, declared = 30_000): Uint8Array {
  const blocks = Math.ceil(inflated / (128 * 1024));
  const out = new Uint8Array(4 + 1 + 2 + blocks * 4);
  out.set([0x28, 0xb5, 0x2f, 0xfd, 0x60], 0); // magic; descriptor: 2-byte content size, single segment
  new DataView(out.buffer).setUint16(5, declared - 256, true);
  for (let b = 0; b < blocks; b++) {
    const last = b === blocks - 1 ? 1 : 0;
    const header = ((128 * 1024) << 3) | (1 << 1) | last; // RLE block of 128 KiB
    out.set([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0], 7 + 4 * b);
  }
  return out;
}

/** The same frame honestly declaring what it inflates to. */
export function zstdDeclaredBomb(inflated: number): Uint8Array {
  const bomb = zstdRleBomb(inflated);
  const out = new Uint8Array(bomb.length + 2);
  out.set(bomb.subarray(0, 4));
  out[4] = 0xa0; // 4-byte content size, single segment
  new DataView(out.buffer).setUint32(5, inflated, true);
  out.set(bomb.subarray(7), 9);
  return out;
}

/** zlib's best: about 1000:1. */
export function zlibBomb(inflated = 64 * MiB): Uint8Array {
  return new Uint8Array(deflateSync(new Uint8Array(inflated), { level: 9 }));
}

/** Uncompressed Galois keys claiming `slots` key slots in 64 bytes (SEAL resizes a vector by it before reading). */
export function keySlotBomb(slots = 1n << 40n): Uint8Array {
  const members = new Uint8Array(48);
  new DataView(members.buffer).setBigUint64(32, slots, true);
  return sealObject(0, members);
}

/** Every hostile variant of a SEAL object, by name. */
export function sealBombs(): Record<string, Uint8Array> {
  return {
    'zstd RLE blocks beyond the declared size (1 GiB)': sealObject(2, zstdRleBomb(1024 * MiB)),
    'zstd declaring 1 GiB': sealObject(2, zstdDeclaredBomb(1024 * MiB)),
    'zlib (64 MiB)': sealObject(1, zlibBomb()),
    'uncompressed, 2^40 key slots': keySlotBomb(),
    'unknown compression mode': sealObject(3 as 0, new Uint8Array(64)),
  };
}
