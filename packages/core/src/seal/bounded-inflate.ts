import { Unzlib } from 'fflate';
import { Decompress } from 'fzstd';
import { WireFormatError } from '../errors/wire-format-error.ts';

/**
 * Inflate a SEAL payload (zstd or zlib) into at most `maxBytes`, without
 * ever holding more. SEAL's own loader inflates a compressed stream to its
 * end before looking at it, so a few kilobytes of zstd could grow a
 * WebAssembly heap by gigabytes; here the stream is inflated in JavaScript
 * first, refused as soon as it passes the bound, and SEAL only ever sees the
 * uncompressed result. Pure JavaScript (fzstd, fflate): the relay and the
 * browser SDK run the same code.
 */
export type Inflate = (mode: 'zstd' | 'zlib', payload: Uint8Array, maxBytes: number) => Uint8Array;

export function inflateBounded(mode: 'zstd' | 'zlib', payload: Uint8Array, maxBytes: number): Uint8Array {
  return mode === 'zstd' ? inflateZstd(payload, maxBytes) : inflateZlib(payload, maxBytes);
}

const ZSTD_MAGIC = 0xfd2fb528;
/** Zstandard's largest block (decompressed), RFC 8878 §3.1.1.2.3. */
const ZSTD_MAX_BLOCK = 128 * 1024;

export const inflationTooLarge = (maxBytes: number, got: number | string) =>
  new WireFormatError('inflation_limit', 'compressed SEAL object inflates beyond what its preset allows', { expected: `<= ${maxBytes} bytes`, got });
export const badCompression = (message: string, got?: unknown) => new WireFormatError('bad_compression', message, got === undefined ? {} : { got });

export interface ZstdFrame {
  /** Declared decompressed size. */
  contentSize: number;
}

/**
 * Walk one Zstandard frame's header and block headers (RFC 8878) without
 * decoding: exactly one frame, no dictionary, a declared content size within
 * the bound (SEAL always writes one), and nothing after the frame. This
 * keeps the decoder from allocating a window or a second frame's buffer
 * sized by the sender.
 */
export function checkZstdFrame(data: Uint8Array, maxBytes: number): ZstdFrame {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 6 || view.getUint32(0, true) !== ZSTD_MAGIC) throw badCompression('not a Zstandard frame');
  const descriptor = data[4];
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const checksum = (descriptor >> 2) & 1;
  if (descriptor & 0x08) throw badCompression('reserved Zstandard header bit set');
  if (descriptor & 0x03) throw badCompression('Zstandard dictionaries are not accepted');
  let offset = 5;
  if (!singleSegment) {
    const wd = data[offset++];
    const base = 2 ** (10 + (wd >> 3));
    const window = base + (base / 8) * (wd & 7);
    if (window > Math.max(maxBytes, 1024)) throw inflationTooLarge(maxBytes, `window of ${window} bytes`);
  }
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (fcsBytes === 0) throw badCompression('the Zstandard frame must declare its content size');
  if (offset + fcsBytes > data.length) throw badCompression('truncated Zstandard header');
  let contentSize = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + data[offset + i];
  if (fcsBytes === 2) contentSize += 256;
  offset += fcsBytes;
  if (contentSize > maxBytes) throw inflationTooLarge(maxBytes, `declared ${contentSize} bytes`);
  let bound = 0;
  for (let last = 0; !last; ) {
    if (offset + 3 > data.length) throw badCompression('truncated Zstandard block');
    const header = data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16);
    last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw badCompression('reserved Zstandard block type');
    if (size > ZSTD_MAX_BLOCK) throw badCompression('Zstandard block larger than 128 KiB', size);
    bound += type === 2 ? ZSTD_MAX_BLOCK : size;
    offset += 3 + (type === 1 ? 1 : size);
  }
  offset += checksum * 4;
  if (offset !== data.length) throw badCompression('bytes after the Zstandard frame', { expected: offset, got: data.length });
  if (bound < contentSize) throw badCompression('Zstandard blocks cannot hold the declared size');
  return { contentSize };
}

function inflateZstd(payload: Uint8Array, maxBytes: number): Uint8Array {
  const { contentSize } = checkZstdFrame(payload, maxBytes);
  const out = new Uint8Array(contentSize);
  let written = 0;
  // fzstd calls back once per block (at most 128 KiB), so throwing here stops decoding mid-stream.
  const decoder = new Decompress((chunk) => {
    if (written + chunk.length > contentSize) throw inflationTooLarge(maxBytes, `more than the declared ${contentSize} bytes`);
    out.set(chunk, written);
    written += chunk.length;
  });
  try {
    decoder.push(payload, true);
  } catch (error) {
    if ((error as Error)?.name === 'WireFormatError') throw error;
    throw badCompression(`corrupt Zstandard data: ${(error as Error)?.message ?? error}`);
  }
  if (written !== contentSize) throw badCompression('Zstandard frame shorter than declared', { expected: contentSize, got: written });
  return out;
}

/** Input fed to fflate per call: deflate expands at most ~1032:1, so one call yields at most ~0.5 MB. */
const ZLIB_FEED_BYTES = 512;

function inflateZlib(payload: Uint8Array, maxBytes: number): Uint8Array {
  if (payload.length < 6) throw badCompression('truncated zlib stream');
  const cmf = payload[0];
  const flg = payload[1];
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) throw badCompression('not a zlib stream');
  if (flg & 0x20) throw badCompression('zlib preset dictionaries are not accepted');
  const chunks: Uint8Array[] = [];
  let written = 0;
  let ended = false;
  const inflater = new Unzlib((chunk, final) => {
    written += chunk.length;
    if (written > maxBytes) throw inflationTooLarge(maxBytes, `more than ${maxBytes} bytes`);
    chunks.push(chunk);
    if (final) ended = true;
  });
  try {
    for (let at = 0; at < payload.length; at += ZLIB_FEED_BYTES) {
      const end = Math.min(payload.length, at + ZLIB_FEED_BYTES);
      inflater.push(payload.subarray(at, end), end === payload.length);
    }
  } catch (error) {
    if ((error as Error)?.name === 'WireFormatError') throw error;
    throw badCompression(`corrupt zlib data: ${(error as Error)?.message ?? error}`);
  }
  if (!ended) throw badCompression('truncated zlib stream');
  const out = new Uint8Array(written);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
