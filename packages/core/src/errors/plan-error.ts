import { FheLlmError } from './fhe-error.ts';

/** A linear operator cannot be planned, or inputs do not match a plan (shape, count, keys). */
export class PlanError extends FheLlmError {
  override name = 'PlanError';
}
