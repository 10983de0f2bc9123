import { FheLlmError } from '@fhe-llm/core';

/** A relay request took longer than `timeoutMs`. */
export class RelayTimeoutError extends FheLlmError {
  override name = 'RelayTimeoutError';

  constructor(url: string, timeoutMs: number) {
    super('relay_timeout', `the relay did not answer ${url} within ${timeoutMs} ms`, { expected: timeoutMs });
  }
}
