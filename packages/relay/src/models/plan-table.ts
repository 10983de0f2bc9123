import { planModelStep, type EncryptedModelDescriptor, type LinearPlan } from '@fhe-llm/core';

/**
 * Plans of one model by (step, vector count), computed on first use: the
 * planner searches many candidates (milliseconds per call), while a relay
 * sees the same few counts over and over. Invalid requests (unknown step,
 * too many vectors) throw core's PlanError and are not cached.
 */
export class PlanTable {
  readonly descriptor: EncryptedModelDescriptor;
  readonly #plans = new Map<number, LinearPlan>();

  constructor(descriptor: EncryptedModelDescriptor) {
    this.descriptor = descriptor;
  }

  get(step: number, vectors: number): LinearPlan {
    const key = step * (this.descriptor.maxVectors + 1) + vectors;
    let plan = this.#plans.get(key);
    if (!plan) {
      plan = planModelStep(this.descriptor, step, vectors);
      this.#plans.set(key, plan);
    }
    return plan;
  }
}
