import { PlanError } from '../errors/plan-error.ts';
import { planForVectors, type LinearPlan } from '../linear/plan.ts';
import type { OperatorBounds, Preset } from '../seal/presets.ts';

/**
 * One round trip of a linear step: the client sends n input vectors, the
 * relay answers n output vectors. Both sides derive the same plan from
 * (preset, shape, n, allowed Galois steps), so a request needs no plan on the
 * wire: just the envelope with `vectors = n` and the ciphertext groups in
 * order (each group carries up to `plan.batch` vectors). The client half is
 * `client/step-exchange.ts`, the relay half `server/step-exchange.ts`.
 */
export interface StepShape {
  readonly dOut: number;
  readonly dIn: number;
  /** Calibrated bounds; they set a flat preset's scales (see operatorScales). */
  readonly bounds?: OperatorBounds;
}

/** The plan both sides use for `vectors` vectors of a step, given the relay's published planning inputs. */
export function planStep(preset: Preset, shape: StepShape, vectors: number, galoisSteps?: readonly number[], parallelism = 1, maxBatch?: number, msPerUploadByte?: number): LinearPlan {
  if (!Number.isInteger(vectors) || vectors < 1) throw new PlanError('bad_count', 'a step request carries at least one vector', { got: vectors });
  return planForVectors(preset, shape.dOut, shape.dIn, vectors, {
    ...(galoisSteps ? { galoisSteps } : {}),
    ...(maxBatch ? { maxBatch } : {}),
    ...(msPerUploadByte === undefined ? {} : { msPerUploadByte }),
    ...(shape.bounds ? { bounds: shape.bounds } : {}),
    parallelism,
  });
}

/** Vectors carried by each ciphertext group of a request with `vectors` vectors. */
export function groupSizes(plan: LinearPlan, vectors: number): number[] {
  const sizes: number[] = [];
  for (let left = vectors; left > 0; left -= plan.batch) sizes.push(Math.min(plan.batch, left));
  return sizes;
}
