import { FheLlmError, isFheLlmError } from './fhe-error.ts';

/**
 * An error as plain data, for a thread boundary (postMessage, comlink):
 * structured clone keeps only `name`, `message` and `stack` of an Error, so
 * our `code`, `expected` and `got` would be lost without this.
 */
export interface TransferredError {
  name: string;
  code?: string;
  message: string;
  expected?: unknown;
  got?: unknown;
  stack?: string;
}

/** Plain data that survives structured clone; values that would not (functions, class instances) become strings. */
export function errorToTransfer(error: unknown): TransferredError {
  if (!(error instanceof Error) && !isFheLlmError(error)) return { name: 'Error', message: String(error) };
  const e = error as Error & { code?: unknown; expected?: unknown; got?: unknown };
  const out: TransferredError = { name: e.name, message: e.message };
  if (typeof e.code === 'string') out.code = e.code;
  if (e.expected !== undefined) out.expected = plain(e.expected);
  if (e.got !== undefined) out.got = plain(e.got);
  if (typeof e.stack === 'string') out.stack = e.stack;
  return out;
}

/**
 * The error again on the other side: an FheLlmError with the original
 * `name` and `code` (recognisable by isFheLlmError(e, name), as everywhere),
 * or a plain Error for one that had no code.
 */
export function errorFromTransfer(data: TransferredError): Error {
  const error = data.code === undefined ? new Error(data.message) : new FheLlmError(data.code, data.message, { expected: data.expected, got: data.got });
  error.name = data.name;
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}

function plain(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value)) ?? String(value);
  } catch {
    return String(value);
  }
}
