/**
 * How a relay with several evaluation workers shares one step's output tiles
 * (row blocks of W, one response ciphertext each) between them. The relay
 * routes every task for tile r to its owner and each worker pre-encodes only
 * the tiles it owns, so both sides must agree: this is the one rule.
 *
 * An operator is sharded when it has at least 2 output tiles and there are at
 * least 2 workers. Below that there is nothing to split (one tile is one
 * ciphertext of work). Above it, sharding always applies, even where its
 * latency gain is small, because ownership is what keeps a worker from
 * holding the whole model: an operator some task may evaluate whole would
 * have to be held by every worker. The price is throughput under load: each
 * worker that takes part loads the inputs and repeats the baby-step
 * rotations, which the unsplit evaluation does once.
 */

/** This worker's place among the relay's workers. */
export interface TileShard {
  readonly index: number;
  readonly count: number;
}

/** Whether an operator with `outTiles` output tiles is split across `workers` workers. */
export function isSharded(outTiles: number, workers: number): boolean {
  return outTiles >= 2 && workers >= 2;
}

/** The worker that owns output tile `tile` (round robin, so tiles spread evenly and a step's first tiles do not pile up on worker 0 for every step). */
export function tileOwner(tile: number, workers: number): number {
  return tile % workers;
}

/** The output tiles `shard` holds pre-encoded: all of them when the operator is not sharded. */
export function heldTiles(outTiles: number, shard: TileShard | undefined): number[] {
  const all = Array.from({ length: outTiles }, (_, r) => r);
  if (!shard || !isSharded(outTiles, shard.count)) return all;
  return all.filter((r) => tileOwner(r, shard.count) === shard.index);
}

/**
 * Per worker, the tiles it evaluates for one ciphertext group, in ascending
 * order; workers that own none are left out. Undefined when not sharded.
 */
export function shardTiles(outTiles: number, workers: number): { worker: number; tiles: number[] }[] | undefined {
  if (!isSharded(outTiles, workers)) return undefined;
  const parts: { worker: number; tiles: number[] }[] = [];
  for (let worker = 0; worker < Math.min(workers, outTiles); worker++) parts.push({ worker, tiles: heldTiles(outTiles, { index: worker, count: workers }) });
  return parts;
}
