import { FheLlmError } from '@fhe-llm/core';

/** The relay answered something that is not a valid response (garbage, wrong shape, wrong counts). */
export class ProtocolError extends FheLlmError {
  override name = 'ProtocolError';
}
