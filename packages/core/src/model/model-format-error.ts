import { FheLlmError } from '../errors/fhe-error.ts';

/** What was wrong with a model, tokenizer or descriptor; see `ModelFormatError.code`. */
export type ModelFormatErrorCode = 'truncated' | 'bad_header' | 'size_mismatch' | 'bad_token' | 'bad_descriptor';

/**
 * A model file, tokenizer file or model descriptor that cannot be used as is.
 * `expected`/`got` carry the numbers that disagreed (byte counts for file sizes)
 * when the failure is a comparison.
 */
export class ModelFormatError extends FheLlmError {
  override name = 'ModelFormatError';
  declare readonly code: ModelFormatErrorCode;
  declare readonly expected: number | undefined;
  declare readonly got: number | undefined;

  constructor(code: ModelFormatErrorCode, message: string, expected?: number, got?: number) {
    super(code, message, { expected, got });
  }
}
