/**
 * Bytes in a SharedArrayBuffer: posting the view to a worker shares the
 * memory instead of copying it, so one key blob serves every task on every
 * worker without a per-task copy.
 */
export function toSharedBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.buffer instanceof SharedArrayBuffer) return bytes;
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  return shared;
}
