import { FheLlmError } from './fhe-error.ts';

/**
 * SEAL refused an object or an operation (invalid ciphertext for the
 * parameters, missing Galois key, ...). `code` says which check failed.
 */
export class SealError extends FheLlmError {
  override name = 'SealError';
}

/**
 * node-seal (built with WebAssembly exceptions) throws `WebAssembly.Exception`
 * whose `message` is `[cppType, what]`. Turn it into readable text.
 */
export function describeSealException(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | null)?.message;
  if (Array.isArray(message)) return message.map(String).join(': ');
  return String(error);
}

/** Run `fn`, turning any SEAL exception into a `SealError` with `code`. */
export function sealCall<T>(code: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new SealError(code, `${what}: ${describeSealException(error)}`, { cause: error });
  }
}
