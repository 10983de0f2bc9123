import type { LinearPlan } from '../linear/plan.ts';

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

/**
 * Shared giant steps (`LinearPlan.giantParts`) of a lone output tile, the
 * other way one request uses several workers. A small operator is held
 * whole by every worker, so whichever is free computes any part (the worker
 * answering for the group claims parts nobody has started, part-exchange.ts).
 * Past `sharedPartsMaxBytes` of plaintexts it is held apart instead: part p
 * only by worker partOwner(p), which alone computes it, so the operator's
 * memory is split between the workers rather than repeated (GPT-2 small's
 * 3,840 x 1,536 steps: 100 MB each under ckks-flat-n8192-q120).
 */
export const DEFAULT_SHARED_PARTS_MAX_BYTES = 64 * 2 ** 20;

/** Whether `plan`'s giant-step parts are held apart on a relay of `workers` sharded workers (see DEFAULT_SHARED_PARTS_MAX_BYTES). */
export function partsHeldApart(
  plan: Pick<LinearPlan, 'giantParts' | 'outTiles'> & { cost: Pick<LinearPlan['cost'], 'plainMults'> },
  workers: number,
  plaintextBytes: number,
  sharedPartsMaxBytes = DEFAULT_SHARED_PARTS_MAX_BYTES,
): boolean {
  // Upper bound of the operator's plaintexts: one per product.
  return plan.giantParts > 1 && plan.outTiles === 1 && workers >= 2 && plan.cost.plainMults * plaintextBytes > sharedPartsMaxBytes;
}

/** The worker that owns giant-step part `part` when parts are held apart. */
export function partOwner(part: number, workers: number): number {
  return part % workers;
}

/** The giant-step parts `shard` holds pre-encoded: all of them unless the parts are held apart. */
export function heldParts(giantParts: number, shard: TileShard | undefined, apart: boolean): number[] {
  const all = Array.from({ length: giantParts }, (_, p) => p);
  if (!shard || !apart) return all;
  return all.filter((p) => partOwner(p, shard.count) === shard.index);
}
