import { FheLlmError } from '@fhe-llm/core';

/**
 * The SDK refused something below its security floor: a relay URL that is
 * not https (and not loopback), or a CKKS preset below 128-bit security,
 * without the app's explicit opt-in.
 */
export class SecurityPolicyError extends FheLlmError {
  override name = 'SecurityPolicyError';
}
