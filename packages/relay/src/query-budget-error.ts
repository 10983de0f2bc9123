import { RelayError } from './relay-error.ts';

/**
 * 429 `query_budget_exceeded`: the principal has had its allowance of
 * activation vectors evaluated. Retry-After only when a window will free
 * some; a spent total budget does not come back by waiting. Keeps
 * RelayError's name so the error handler answers it like any other.
 */
export class QueryBudgetExceeded extends RelayError {
  constructor(message: string, headers: Record<string, string>) {
    super(429, 'query_budget_exceeded', message, headers);
  }
}
