import { FheLlmError } from './fhe-error.ts';

/** An unknown preset id, or parameters SEAL rejects. */
export class PresetError extends FheLlmError {
  override name = 'PresetError';
}
