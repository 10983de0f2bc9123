import { FheLlmError } from '@fhe-llm/core';

/** The relay could not be reached (down, restarting, or blocked), even after retries. */
export class RelayUnavailableError extends FheLlmError {
  override name = 'RelayUnavailableError';

  constructor(url: string, cause: unknown) {
    super('relay_unavailable', `cannot reach the relay at ${url}; is it running?`, { cause });
  }
}
