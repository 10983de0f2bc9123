// How much WebAssembly heap a relay worker needs beyond its models, and when
// a worker cannot have it (its heap is 32-bit).

/** Room a worker needs above its models and key cache: one task's buffers (see evaluation-worker.ts, heapLimitBytes). */
export const TASK_HEAP_HEADROOM_BYTES = 256 * 1024 ** 2;

/** WebAssembly's 32-bit memory: a worker's SEAL heap can never grow past it. */
export const WASM_HEAP_CEILING_BYTES = 4 * 1024 ** 3;

/**
 * Why a worker that came up holding `readyHeapBytes` of models cannot serve,
 * or undefined when it can: it needs room above its models for the key cache
 * and a task under WebAssembly's 4 GiB, or SEAL's allocations would fail
 * inside requests. The relay refuses to start instead.
 */
export function heapRoomProblem(readyHeapBytes: number, keyCacheBytes: number, sharded: boolean): string | undefined {
  const need = readyHeapBytes + keyCacheBytes + TASK_HEAP_HEADROOM_BYTES;
  if (need <= WASM_HEAP_CEILING_BYTES) return undefined;
  const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  const remedy = sharded
    ? 'start more workers (--workers) so each holds a smaller share of the steps, set --memory-budget so some weights are encoded on use, or lower --key-cache-bytes'
    : 'use --shard-steps auto with more workers, set --memory-budget so some weights are encoded on use, or lower --key-cache-bytes';
  return `a worker holds ${gib(readyHeapBytes)} of models and needs ${gib(keyCacheBytes)} of key cache and ${gib(TASK_HEAP_HEADROOM_BYTES)} for a task above it: ${gib(need)}, past WebAssembly's 4 GiB; ${remedy}`;
}
