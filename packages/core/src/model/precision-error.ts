import { FheLlmError } from '../errors/fhe-error.ts';

/**
 * A step output that cannot be a real activation: non-finite, or far beyond the
 * calibrated range. Under CKKS this means the ciphertext was decrypted with too
 * little precision or overflowed its headroom; sampling from it would produce
 * confident garbage, so the client stops instead.
 */
export class PrecisionError extends FheLlmError {
  override name = 'PrecisionError';
  declare readonly code: 'implausible_value';
  readonly stepId: string;
  readonly stepIndex: number;
  /** Row of the batch (which token) the value belongs to. */
  readonly row: number;
  /** Element index inside the step's output vector. */
  readonly index: number;
  readonly value: number;
  /** Largest magnitude accepted for this step (factor x calibrated output bound). */
  readonly bound: number;

  constructor(stepId: string, stepIndex: number, row: number, index: number, value: number, bound: number) {
    super('implausible_value', `step ${stepIndex} (${stepId}) produced an implausible value ${value} at output index ${index} ` + `(row ${row}); accepted magnitude is ${bound}`, {
      expected: `|value| <= ${bound}`,
      got: value,
    });
    this.stepId = stepId;
    this.stepIndex = stepIndex;
    this.row = row;
    this.index = index;
    this.value = value;
    this.bound = bound;
  }
}
