import { FheLlmError } from '../errors/fhe-error.ts';

/**
 * A `StepRunner` answered with the wrong shape: not one output per input, or an
 * output vector whose length differs from the step's `dOut`. This is a protocol
 * fault (relay or transport), not a numerical one, hence separate from PrecisionError.
 */
export class StepOutputError extends FheLlmError {
  override name = 'StepOutputError';
  declare readonly code: 'wrong_count' | 'wrong_length';
  declare readonly expected: number;
  declare readonly got: number;
  readonly stepId: string;

  constructor(code: 'wrong_count' | 'wrong_length', stepId: string, expected: number, got: number) {
    const what = code === 'wrong_count' ? 'output vectors' : 'values in an output vector';
    super(code, `step ${stepId}: expected ${expected} ${what}, got ${got}`, { expected, got });
    this.stepId = stepId;
  }
}
