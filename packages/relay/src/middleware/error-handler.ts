import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { isFheLlmError } from '@fhe-llm/core';
import { isRelayError } from '../relay-error.ts';

export interface ErrorBody {
  error: { code: string; message: string };
}

export interface MappedError {
  status: ContentfulStatusCode;
  code: string;
  message: string;
  headers: Record<string, string>;
}

/** PlanError codes that are not "unprocessable input" (422). */
const PLAN_ERROR_STATUS: Record<string, { status: ContentfulStatusCode; code?: string }> = {
  unknown_step: { status: 404, code: 'step_not_found' },
  missing_keys: { status: 422, code: 'missing_galois_keys' },
};

const HTTP_EXCEPTION_CODES: Record<number, string> = { 400: 'bad_request', 401: 'unauthorized', 404: 'not_found', 413: 'body_too_large', 415: 'unsupported_media_type' };

/**
 * The single place where errors become HTTP answers. Client mistakes keep
 * core's stable codes: wire format -> 400, SEAL rejections and plan
 * mismatches -> 422. Anything unrecognised is a relay bug: 500 `internal`
 * with a generic message (details go to the log only).
 */
export function mapError(error: unknown): MappedError | undefined {
  if (isRelayError(error)) return { status: error.status as ContentfulStatusCode, code: error.code, message: error.message, headers: { ...error.headers } };
  if (error instanceof HTTPException) {
    return { status: error.status as ContentfulStatusCode, code: HTTP_EXCEPTION_CODES[error.status] ?? 'bad_request', message: error.message || 'bad request', headers: {} };
  }
  if (isFheLlmError(error)) {
    switch (error.name) {
      case 'WireFormatError':
      case 'PresetError':
        return { status: 400, code: error.code, message: error.message, headers: {} };
      case 'SealError':
        return { status: 422, code: error.code, message: error.message, headers: {} };
      case 'PlanError': {
        const special = PLAN_ERROR_STATUS[error.code];
        return { status: special?.status ?? 422, code: special?.code ?? error.code, message: error.message, headers: {} };
      }
    }
  }
  return undefined;
}

/** Tells requestMetrics which stable code the answer carries (fhe_relay_rejections_total). */
function noteCode(c: Context, code: string): void {
  (c as Context<{ Variables: { errorCode: string } }>).set('errorCode', code);
}

export function errorHandler(logger: Logger): ErrorHandler {
  return (error, c) => {
    const mapped = mapError(error);
    if (!mapped) {
      logger.error({ err: error, method: c.req.method }, 'internal error');
      noteCode(c, 'internal');
      return c.json<ErrorBody>({ error: { code: 'internal', message: 'internal error' } }, 500);
    }
    noteCode(c, mapped.code);
    return c.json<ErrorBody>({ error: { code: mapped.code, message: mapped.message } }, mapped.status, mapped.headers);
  };
}

export const notFoundHandler: NotFoundHandler = (c) => {
  noteCode(c, 'not_found');
  return c.json<ErrorBody>({ error: { code: 'not_found', message: 'no such route' } }, 404);
};
