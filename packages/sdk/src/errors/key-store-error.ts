import { FheLlmError } from '@fhe-llm/core';

/**
 * Keys could not be stored or read. `code` is `quota_exceeded` when the
 * browser refused the space (free some, or allow persistent storage), or
 * `unwrap_failed` when stored keys no longer decrypt (forget and make new ones).
 */
export class KeyStoreError extends FheLlmError {
  override name = 'KeyStoreError';
}
