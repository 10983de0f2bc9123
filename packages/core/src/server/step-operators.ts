import type { CkksContext } from '../seal/ckks-context.ts';
import { LinearOperator, plaintextBytes, type WeightEncoding } from '../linear/linear-operator.ts';
import type { LinearPlan } from '../linear/plan.ts';
import { PlanError } from '../errors/plan-error.ts';
import type { Schedule } from '../model/schedule.ts';
import { planModelStep, planVectorCounts, type EncryptedModelDescriptor } from '../inference/encrypted-model.ts';
import { DEFAULT_SHARED_PARTS_MAX_BYTES, heldParts, heldTiles, partsHeldApart, type TileShard } from './tile-shards.ts';

export interface StepOperatorsOptions {
  /**
   * Most bytes of pre-encoded plaintexts to hold. An operator that would not
   * fit is built lazy (its diagonals encoded on each use, see WeightEncoding):
   * slower, but memory stays bounded. Default: no limit.
   */
  memoryBudgetBytes?: number;
  /**
   * This worker's place in a relay that shards steps: of an operator with
   * several output tiles, pre-encode only the tiles this worker owns (the
   * relay sends it no others). Default: hold every tile.
   */
  shard?: TileShard;
  /**
   * With a shard: a lone output tile whose giant steps are shared is held
   * whole up to this many bytes of plaintexts, and beyond it only this
   * worker's parts (tile-shards.ts, partsHeldApart). Default 64 MiB.
   */
  sharedPartsMaxBytes?: number;
}

/**
 * A hosted model's weights as CKKS plaintexts: one operator per (step, plan),
 * built on first use and reused by every session. Plans differ only by batch
 * size (powers of two), so a step has at most log2(maxVectors)+1. Operators
 * are pre-encoded while they fit the memory budget, in the order they are
 * first needed (`warm` builds the single-vector decode plans first), and
 * encoded on use beyond it.
 */
export class StepOperators {
  readonly ctx: CkksContext;
  readonly model: EncryptedModelDescriptor;
  readonly memoryBudgetBytes: number;
  readonly shard: TileShard | undefined;
  readonly sharedPartsMaxBytes: number;
  readonly #schedule: Pick<Schedule, 'steps'>;
  readonly #operators = new Map<string, LinearOperator>();
  /** Per step: the keys of every plan a request can select (computed on first need). */
  readonly #planKeys = new Map<number, string[]>();
  readonly #released = new Set<number>();
  #encodedBytes = 0;

  /** `schedule.steps` may still be filling (a relay worker encodes each step as it is composed, see ScheduleOptions.onStep). */
  constructor(ctx: CkksContext, model: EncryptedModelDescriptor, schedule: Pick<Schedule, 'steps'>, options: StepOperatorsOptions = {}) {
    this.ctx = ctx;
    this.model = model;
    this.#schedule = schedule;
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? Infinity;
    this.shard = options.shard;
    this.sharedPartsMaxBytes = options.sharedPartsMaxBytes ?? DEFAULT_SHARED_PARTS_MAX_BYTES;
    if (!(this.memoryBudgetBytes >= 0)) throw new RangeError(`memoryBudgetBytes must be >= 0, got ${options.memoryBudgetBytes}`);
  }

  /** The plan and operator for `vectors` vectors of step `stepIndex`. */
  get(stepIndex: number, vectors: number): { plan: LinearPlan; operator: LinearOperator } {
    const plan = planModelStep(this.model, stepIndex, vectors);
    const key = planKey(stepIndex, plan);
    let operator = this.#operators.get(key);
    if (!operator) {
      if (this.#released.has(stepIndex)) {
        throw new PlanError('weights_released', `step ${stepIndex}'s matrix was released, yet plan ${key} was never encoded`, { expected: this.#keysOf(stepIndex), got: key });
      }
      const bytes = plaintextBytes(this.ctx);
      const apart = this.shard !== undefined && partsHeldApart(plan, this.shard.count, bytes, this.sharedPartsMaxBytes);
      const tiles = heldTiles(plan.outTiles, this.shard);
      const parts = heldParts(plan.giantParts, this.shard, apart);
      // Upper bound: every product of the held tiles and parts uses its own nonzero diagonal.
      const estimate = (((plan.cost.plainMults * bytes * tiles.length) / plan.outTiles) * parts.length) / plan.giantParts;
      const encoding: WeightEncoding = this.#encodedBytes + estimate <= this.memoryBudgetBytes ? 'eager' : 'lazy';
      operator = new LinearOperator(this.ctx, plan, this.#schedule.steps[stepIndex], encoding, apart ? { tiles, parts } : { tiles });
      this.#encodedBytes += operator.encodedBytes;
      this.#operators.set(key, operator);
    }
    return { plan: operator.plan, operator };
  }

  /**
   * Drop step `stepIndex`'s matrix (replace it by an empty array) when every
   * plan a request can select for it is already built and pre-encoded: its
   * weights then live only in the plaintexts, and a worker does not also keep
   * the Float32 matrix (for GPT-2 small, 0.8 GB per worker). Keeps the matrix
   * and returns false while some plan is missing or lazy (encoded from the
   * matrix on every use). Builds nothing itself: batched plans are encoded
   * when the caller chooses (a relay worker warms them after it is ready).
   */
  releaseIfEncoded(stepIndex: number): boolean {
    if (this.#released.has(stepIndex)) return true;
    for (const key of this.#keysOf(stepIndex)) if (this.#operators.get(key)?.encoding !== 'eager') return false;
    const step = this.#schedule.steps[stepIndex];
    step.weight = new Float32Array(0);
    this.#released.add(stepIndex);
    return true;
  }

  /** Steps whose matrices were released (see releaseIfEncoded). */
  get releasedSteps(): number {
    return this.#released.size;
  }

  #keysOf(stepIndex: number): string[] {
    let keys = this.#planKeys.get(stepIndex);
    if (!keys) {
      keys = [...new Set(planVectorCounts(this.model.maxVectors).map((n) => planKey(stepIndex, planModelStep(this.model, stepIndex, n))))];
      this.#planKeys.set(stepIndex, keys);
    }
    return keys;
  }

  /** Operators built so far, by encoding: how much of the model runs from pre-encoded weights. */
  get encodingCounts(): Record<WeightEncoding, number> {
    const counts = { eager: 0, lazy: 0 };
    for (const op of this.#operators.values()) counts[op.encoding]++;
    return counts;
  }

  /**
   * Encode every step's plans for these vector counts now, so first requests
   * are not slow (a prompt's prefill uses a batched plan). Default: 1.
   */
  warm(vectorCounts: readonly number[] = [1]): void {
    for (let i = 0; i < this.model.steps.length; i++) for (const n of vectorCounts) if (n <= this.model.maxVectors) this.get(i, n);
  }

  get encodedBytes(): number {
    return this.#encodedBytes;
  }

  delete(): void {
    for (const op of this.#operators.values()) op.delete();
    this.#operators.clear();
    this.#encodedBytes = 0;
  }
}

/** Plans of a step differ only in these fields (batch size and what the planner picked for it). */
function planKey(stepIndex: number, plan: LinearPlan): string {
  return `${stepIndex}:${plan.batch}:${plan.packing}:${plan.blockSize}:${plan.babySteps}:${plan.preRotated}:${plan.inTiles}`;
}
