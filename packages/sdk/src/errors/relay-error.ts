import { FheLlmError } from '@fhe-llm/core';

/** The relay answered with an error: `status` is the HTTP status, `code` the relay's stable code. */
export class RelayError extends FheLlmError {
  override name = 'RelayError';
  readonly status: number;

  constructor(status: number, code: string, message: string) {
    super(code, message);
    this.status = status;
  }
}
