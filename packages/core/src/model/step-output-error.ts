/**
 * A `StepRunner` answered with the wrong shape: not one output per input, or an
 * output vector whose length differs from the step's `dOut`. This is a protocol
 * fault (relay or transport), not a numerical one, hence separate from PrecisionError.
 */
export class StepOutputError extends Error {
  override name = 'StepOutputError';
  readonly code: 'wrong_count' | 'wrong_length';
  readonly stepId: string;
  readonly expected: number;
  readonly got: number;

  constructor(code: 'wrong_count' | 'wrong_length', stepId: string, expected: number, got: number) {
    const what = code === 'wrong_count' ? 'output vectors' : 'values in an output vector';
    super(`step ${stepId}: expected ${expected} ${what}, got ${got}`);
    this.code = code;
    this.stepId = stepId;
    this.expected = expected;
    this.got = got;
  }
}
