/**
 * Base of every typed error in fhe-llm. Errors are recognised by `name` and
 * `code`, never by `instanceof`, so they survive a worker or HTTP boundary
 * (structured clone keeps `name`, `message` and own fields).
 */
export class FheLlmError extends Error {
  override name = 'FheLlmError';
  /** Stable machine-readable code, e.g. `bad_magic`. */
  readonly code: string;
  /** What was expected, when the error is a mismatch. */
  readonly expected?: unknown;
  /** What was found instead. */
  readonly got?: unknown;

  constructor(code: string, message: string, details: { expected?: unknown; got?: unknown; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if ('expected' in details) this.expected = details.expected;
    if ('got' in details) this.got = details.got;
  }
}

/** True when `error` is an fhe-llm error of the given class name (works across realms). */
export function isFheLlmError(error: unknown, name?: string): error is FheLlmError {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; code?: unknown };
  return typeof e.code === 'string' && typeof e.name === 'string' && (name === undefined || e.name === name);
}
