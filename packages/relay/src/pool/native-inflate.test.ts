import { deflateSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateBounded, type Inflate } from '@fhe-llm/core';
import { zlibBomb, zstdDeclaredBomb, zstdRleBomb } from '../../test/seal-bombs.ts';
import { nativeInflateBounded } from './native-inflate.ts';

const MiB = 1024 * 1024;
const withCode = (code: string) => expect.objectContaining({ name: 'WireFormatError', code });

// The relay's native inflater and core's JavaScript one (the SDK's) must agree on every bound.
describe.each([
  ['native (relay)', nativeInflateBounded],
  ['JavaScript (core, SDK)', inflateBounded],
] as [string, Inflate][])('%s bounded inflation', (_name, inflate) => {
  it('round-trips honest data up to the bound', () => {
    const data = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251);
    expect(inflate('zstd', new Uint8Array(zstdCompressSync(data)), data.length)).toEqual(data);
    expect(inflate('zlib', new Uint8Array(deflateSync(data)), data.length)).toEqual(data);
  });

  it('stops bombs at the bound: zstd lying about its size, zstd declaring 1 GiB, zlib', () => {
    const bombs = { lying: zstdRleBomb(1024 * MiB), declared: zstdDeclaredBomb(1024 * MiB), zlib: zlibBomb(64 * MiB) };
    const before = process.memoryUsage().arrayBuffers;
    expect(() => inflate('zstd', bombs.lying, 1 * MiB)).toThrowError(withCode('inflation_limit'));
    expect(() => inflate('zstd', bombs.declared, 1 * MiB)).toThrowError(withCode('inflation_limit'));
    expect(() => inflate('zlib', bombs.zlib, 1 * MiB)).toThrowError(withCode('inflation_limit'));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * MiB);
  });

  it('refuses corrupt streams and zlib dictionaries with bad_compression', () => {
    const good = new Uint8Array(zstdCompressSync(new Uint8Array(1000).fill(1)));
    const corrupt = good.slice();
    corrupt[corrupt.length - 3] ^= 0xff;
    expect(() => inflate('zstd', corrupt, 4096)).toThrowError(expect.objectContaining({ name: 'WireFormatError' }));
    expect(() => inflate('zlib', new Uint8Array([0x78, 0xbb, 0, 0, 0, 1, 2, 3]), 4096)).toThrowError(withCode('bad_compression'));
    expect(() => inflate('zlib', new Uint8Array([0x78, 0x9c, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 4096)).toThrowError(withCode('bad_compression'));
  });
});
