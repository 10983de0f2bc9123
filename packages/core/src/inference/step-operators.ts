import type { CkksContext } from '../seal/ckks-context.ts';
import { LinearOperator } from '../linear/linear-operator.ts';
import type { LinearPlan } from '../linear/plan.ts';
import type { Schedule } from '../model/schedule.ts';
import { planModelStep, type EncryptedModelDescriptor } from './encrypted-model.ts';

/**
 * A hosted model's weights as pre-encoded CKKS plaintexts: one operator per
 * (step, plan), built on first use and reused by every session. Plans differ
 * only by batch size (powers of two), so a step has at most log2(maxVectors)+1.
 */
export class StepOperators {
  readonly ctx: CkksContext;
  readonly model: EncryptedModelDescriptor;
  readonly #schedule: Schedule;
  readonly #operators = new Map<string, LinearOperator>();

  constructor(ctx: CkksContext, model: EncryptedModelDescriptor, schedule: Schedule) {
    this.ctx = ctx;
    this.model = model;
    this.#schedule = schedule;
  }

  /** The plan and operator for `vectors` vectors of step `stepIndex`. */
  get(stepIndex: number, vectors: number): { plan: LinearPlan; operator: LinearOperator } {
    const plan = planModelStep(this.model, stepIndex, vectors);
    const key = `${stepIndex}:${plan.batch}:${plan.packing}:${plan.blockSize}:${plan.babySteps}:${plan.preRotated}:${plan.inTiles}`;
    let operator = this.#operators.get(key);
    if (!operator) {
      operator = new LinearOperator(this.ctx, plan, this.#schedule.steps[stepIndex]);
      this.#operators.set(key, operator);
    }
    return { plan: operator.plan, operator };
  }

  /**
   * Encode every step's plans for these vector counts now, so first requests
   * are not slow (a prompt's prefill uses a batched plan). Default: 1.
   */
  warm(vectorCounts: readonly number[] = [1]): void {
    for (let i = 0; i < this.model.steps.length; i++) for (const n of vectorCounts) if (n <= this.model.maxVectors) this.get(i, n);
  }

  get encodedBytes(): number {
    let bytes = 0;
    for (const op of this.#operators.values()) bytes += op.encodedBytes;
    return bytes;
  }

  delete(): void {
    for (const op of this.#operators.values()) op.delete();
    this.#operators.clear();
  }
}
