import { describe, expect, it } from 'vitest';
import { TASK_HEAP_HEADROOM_BYTES, WASM_HEAP_CEILING_BYTES, heapRoomProblem } from './heap-room.ts';

const GiB = 1024 ** 3;

describe('heap room', () => {
  it('lets a worker serve while its models, key cache and a task fit under 4 GiB', () => {
    // stories110M's share under ckks-flat-n8192-q120 on one of two workers, with the default 256 MiB key cache.
    expect(heapRoomProblem(2.7e9, 256 * 1024 ** 2, true)).toBeUndefined();
    expect(heapRoomProblem(WASM_HEAP_CEILING_BYTES - TASK_HEAP_HEADROOM_BYTES - GiB / 4, GiB / 4, true)).toBeUndefined();
  });

  it('refuses, with the numbers and what to change, a worker that could never serve', () => {
    const problem = heapRoomProblem(3.8 * GiB, GiB / 4, true);
    expect(problem).toContain('3.80 GiB of models');
    expect(problem).toContain('4.30 GiB');
    expect(problem).toContain('--workers');
    expect(problem).toContain('--memory-budget');
    // Unsharded, more workers each hold everything: the advice says to shard.
    expect(heapRoomProblem(3.8 * GiB, GiB / 4, false)).toContain('--shard-steps auto');
    // One byte over is over.
    expect(heapRoomProblem(WASM_HEAP_CEILING_BYTES - TASK_HEAP_HEADROOM_BYTES - GiB / 4 + 1, GiB / 4, true)).toBeDefined();
  });
});
