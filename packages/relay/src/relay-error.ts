/**
 * An error the relay answers with a specific HTTP status and stable code.
 * Thrown anywhere in a request; the error handler turns it into
 * `{ "error": { "code", "message" } }`. Recognised by `name`, like core's errors.
 */
export class RelayError extends Error {
  override name = 'RelayError';
  readonly status: number;
  readonly code: string;
  /** Extra response headers, e.g. Retry-After on 503. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** Seconds a client should wait before retrying an overloaded or late request. */
export const RETRY_AFTER_SECONDS = 1;

export function overloaded(message = 'the relay is at capacity; retry shortly'): RelayError {
  return new RelayError(503, 'overloaded', message, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
}

export function deadlineExceeded(ms: number): RelayError {
  return new RelayError(503, 'deadline_exceeded', `the request did not finish within ${ms} ms`, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
}

export function notReady(): RelayError {
  return new RelayError(503, 'not_ready', 'the relay is starting or shutting down', { 'Retry-After': String(RETRY_AFTER_SECONDS) });
}

export function isRelayError(error: unknown): error is RelayError {
  return error instanceof Error && error.name === 'RelayError' && typeof (error as RelayError).status === 'number';
}
