import type { Span } from '@opentelemetry/api';
import type { HostedModel } from './models/hosted-model.ts';
import type { SessionRecord } from './sessions/session-store.ts';

/** Values middleware hands to handlers through hono's context. */
export interface RelayEnv {
  Variables: {
    /** The request body, read and size-checked by binaryBody. */
    body: Uint8Array;
    /** The authenticated session (sessionAuth). */
    session: SessionRecord;
    /** Aborts when the request's deadline passes (deadline). */
    signal: AbortSignal;
    /** The model named in the path or query. */
    model: HostedModel;
    /** Who the client is, when clientAuth identified it: `key:<digest>` or `sub:<JWT subject>`. */
    principal: string | undefined;
    /** The request's span when tracing is on (traceRequests). */
    span: Span | undefined;
    /** The stable error code of an error answer (set by the error handlers, counted by requestMetrics). */
    errorCode: string;
  };
}
