import type { CkksContext } from '../seal/ckks-context.ts';
import { LinearOperator, plaintextBytes, type WeightEncoding } from '../linear/linear-operator.ts';
import type { LinearPlan } from '../linear/plan.ts';
import type { Schedule } from '../model/schedule.ts';
import { planModelStep, type EncryptedModelDescriptor } from './encrypted-model.ts';
import { heldTiles, type TileShard } from './tile-shards.ts';

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
  readonly #schedule: Schedule;
  readonly #operators = new Map<string, LinearOperator>();
  #encodedBytes = 0;

  constructor(ctx: CkksContext, model: EncryptedModelDescriptor, schedule: Schedule, options: StepOperatorsOptions = {}) {
    this.ctx = ctx;
    this.model = model;
    this.#schedule = schedule;
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? Infinity;
    this.shard = options.shard;
    if (!(this.memoryBudgetBytes >= 0)) throw new RangeError(`memoryBudgetBytes must be >= 0, got ${options.memoryBudgetBytes}`);
  }

  /** The plan and operator for `vectors` vectors of step `stepIndex`. */
  get(stepIndex: number, vectors: number): { plan: LinearPlan; operator: LinearOperator } {
    const plan = planModelStep(this.model, stepIndex, vectors);
    const key = `${stepIndex}:${plan.batch}:${plan.packing}:${plan.blockSize}:${plan.babySteps}:${plan.preRotated}:${plan.inTiles}`;
    let operator = this.#operators.get(key);
    if (!operator) {
      const held = heldTiles(plan.outTiles, this.shard);
      // Upper bound: every product of the held tiles uses its own nonzero diagonal.
      const estimate = (plan.cost.plainMults * held.length * plaintextBytes(this.ctx)) / plan.outTiles;
      const encoding: WeightEncoding = this.#encodedBytes + estimate <= this.memoryBudgetBytes ? 'eager' : 'lazy';
      operator = new LinearOperator(this.ctx, plan, this.#schedule.steps[stepIndex], encoding, held);
      this.#encodedBytes += operator.encodedBytes;
      this.#operators.set(key, operator);
    }
    return { plan: operator.plan, operator };
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
