/**
 * Random access to a model file's bytes. Loaders read headers and then each
 * tensor by offset, so a 500 MB file is never held twice: a Node file source
 * reads each range from disk, a memory source hands out subarrays.
 */
export interface ByteSource {
  /** A name for errors: the path, or a label for in-memory bytes. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset` (callers check bounds against `size` first). */
  read(offset: number, length: number): Uint8Array;
}

/** In-memory bytes; `read` returns views, no copies. */
export function memorySource(bytes: Uint8Array, name = 'memory'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read: (offset, length) => bytes.subarray(offset, offset + length),
  };
}
