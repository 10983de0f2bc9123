import { setFlagsFromString } from 'node:v8';

/** The growth the relay and the CLI set for their own processes (docs/benchmarks.md, bench:e2e). */
export const DEFAULT_HEAP_GROWTH_PERCENT = 300;

/**
 * Let each thread's JavaScript heap grow `percent` per cent past its live
 * size before V8's next full collection (V8's --heap-growing-percent; 0
 * leaves V8's own choice). V8 flags are process-wide, so this reaches the
 * evaluation workers too when set before they start. For a small heap V8
 * grows the limit by as little as 10%, and since it starts marking once the
 * room left is less than the young generation, a relay under load ran a
 * full collection on every thread about twice a second (stories260K: 110 in
 * 30 s over the relay's threads, 53 on a client's main thread). These heaps
 * hold tens of MiB (weights, keys and ciphertexts live in WebAssembly
 * memory), so a larger margin costs little. For a process of our own only
 * (the relay, the CLI): a library must not change its host's collector.
 */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
