import { FheLlmError } from '@fhe-llm/core';

/**
 * An error the relay answers with a specific HTTP status and stable code.
 * Thrown anywhere in a request; the error handler turns it into
 * `{ "error": { "code", "message" } }`. Recognised by `name`, like core's errors
 * (it is one: FheLlmError, so code/expected/got mean the same everywhere).
 */
export class RelayError extends FheLlmError {
  override name = 'RelayError';
  readonly status: number;
  /** Extra response headers, e.g. Retry-After on 503. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}, details: { expected?: unknown; got?: unknown; cause?: unknown } = {}) {
    super(code, message, details);
    this.status = status;
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

/** Seconds to wait while the session store (Redis) is unreachable: ioredis reconnects within a second of it coming back. */
export const STORE_RETRY_AFTER_SECONDS = 2;

export function storeUnavailable(cause?: unknown): RelayError {
  const error = new RelayError(503, 'store_unavailable', 'the session store is unreachable; retry shortly', { 'Retry-After': String(STORE_RETRY_AFTER_SECONDS) });
  if (cause !== undefined) error.cause = cause;
  return error;
}

export function rateLimited(retryAfterSeconds: number, what: string): RelayError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new RelayError(429, 'rate_limited', `too many ${what} from this client; retry in ${seconds} s`, { 'Retry-After': String(seconds) });
}

/** No API key or client token, or one that does not verify. Distinct from a session token's 401 `unauthorized`. */
export function unauthenticated(message: string): RelayError {
  return new RelayError(401, 'unauthenticated', message);
}

/** The identity provider's key set cannot be fetched, so no client token can be checked now. */
export function authUnavailable(cause?: unknown): RelayError {
  const error = new RelayError(503, 'auth_unavailable', 'client tokens cannot be verified right now; retry shortly', { 'Retry-After': String(STORE_RETRY_AFTER_SECONDS) });
  if (cause !== undefined) error.cause = cause;
  return error;
}
