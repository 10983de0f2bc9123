import { FheLlmError } from './fhe-error.ts';

/** Bytes on the wire are truncated, corrupt, or belong to another preset, kind or version. */
export class WireFormatError extends FheLlmError {
  override name = 'WireFormatError';
}
