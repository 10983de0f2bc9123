/**
 * Turns the SDK's typed errors into sentences a visitor can act on. The SDK's
 * errors are recognised by `name` and `code` (never by class), so this file
 * needs nothing but the error object.
 */
export interface ReadableError {
  title: string;
  detail: string;
  /** The stable code, shown small for bug reports. */
  code?: string;
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  message?: unknown;
}

export function isAbort(error: unknown): boolean {
  return (error as ErrorLike | undefined)?.name === 'AbortError';
}

export function describeError(error: unknown): ReadableError {
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as ErrorLike;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' ? e.code : undefined;
  const status = typeof e.status === 'number' ? e.status : undefined;
  const message = typeof e.message === 'string' && e.message ? e.message : 'no details';
  const withCode = (title: string, detail: string): ReadableError => ({ title, detail, code: code ?? name });

  if (name === 'RelayUnavailableError' || code === 'relay_unavailable' || (name === 'TypeError' && /fetch/i.test(message))) {
    return withCode('The relay can’t be reached', 'Nothing answered at the relay’s address. If you started it with npm start, check that it is still running, then try again.');
  }
  if (name === 'RelayTimeoutError' || code === 'relay_timeout') {
    return withCode('The relay took too long to answer', 'It may be busy with other visitors. Try again in a moment.');
  }
  if (name === 'QuotaExceededError' || code === 'quota_exceeded' || status === 429) {
    if (name === 'KeyStoreError' || (name === 'QuotaExceededError' && status === undefined && code === undefined)) {
      return withCode('This browser has no room left for the keys', 'Free some storage for this site (or allow it persistent storage), then try again.');
    }
    return withCode('You have reached the relay’s limit', `${sentence(message)} Wait a little, then try again.`);
  }
  if (name === 'KeyStoreError') {
    if (code === 'unwrap_failed') {
      return withCode('The keys stored in this browser can’t be read any more', 'Forget the keys and generate again: new ones will be made.');
    }
    return withCode('The keys could not be stored in this browser', message);
  }
  if (name === 'RelayError') {
    switch (code) {
      case 'overloaded':
      case 'deadline_exceeded':
      case 'not_ready':
        return withCode('The relay is busy', `${sentence(message)} Try again in a moment.`);
      case 'unknown_model':
      case 'model_not_found':
        return withCode('The relay doesn’t host this model', message);
      case 'session_expired':
      case 'unknown_session':
      case 'session_not_found':
      case 'unauthorized':
        return withCode('The relay no longer knows this browser’s session', 'Generate again: the keys will be uploaded anew.');
      default:
        return withCode(`The relay refused the request${status ? ` (HTTP ${status})` : ''}`, capitalize(message));
    }
  }
  if (name === 'ProtocolError') {
    return withCode('The relay’s answer didn’t make sense to this page', `${sentence(message)} Are the page and the relay from the same version?`);
  }
  if (name === 'SealError' || name === 'PrecisionError') {
    return withCode('The encryption engine failed', capitalize(message));
  }
  return withCode('Something went wrong', `${name}: ${message}`);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The message as a sentence: capital first letter, one closing full stop. */
function sentence(text: string): string {
  const t = capitalize(text.trim());
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
