import type { Context, MiddlewareHandler } from 'hono';
import { RelayError } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';
import type { RelayServices } from '../relay-services.ts';
import type { BodyBudget } from './body-budget.ts';
import { clientKey } from './rate-limit.ts';

export const OCTET_STREAM = 'application/octet-stream';

function tooLarge(limit: number): RelayError {
  return new RelayError(413, 'body_too_large', `request body exceeds ${limit} bytes`);
}

export interface BinaryBodyOptions {
  /** Whole body read within this (408 body_timeout): slow senders are cut off. */
  readTimeoutMs?: number;
  /** Bytes still being read, globally and per client; `client` names the requester. */
  budget?: { budget: BodyBudget; client(c: Context<RelayEnv>): string };
}

/**
 * Require an `application/octet-stream` body of at most `limit` bytes and
 * put it in `c.var.body`. The declared Content-Length is refused before
 * reading; a body without one (chunked) is cut off as soon as it overflows,
 * so an oversized upload never sits in memory. With a budget, the body's
 * bytes are reserved before the first one is read; with a read timeout, a
 * sender too slow to finish in time gets 408 `body_timeout`.
 */
export function binaryBody(limit: number | ((c: Context<RelayEnv>) => number), options: BinaryBodyOptions = {}): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== OCTET_STREAM) throw new RelayError(415, 'unsupported_media_type', `send the body as ${OCTET_STREAM}`);
    const max = typeof limit === 'number' ? limit : limit(c);
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > max) throw tooLarge(max);
    const reservation = options.budget?.budget.open(options.budget.client(c));
    const length = declared === undefined ? undefined : Number(declared);
    try {
      if (length !== undefined && Number.isFinite(length)) reservation?.add(Math.max(0, length));
      const onChunk = reservation && (length === undefined || !Number.isFinite(length)) ? (n: number) => reservation.add(n) : undefined;
      c.set('body', await readLimited(c.req.raw.body, max, options.readTimeoutMs, onChunk));
    } finally {
      reservation?.release();
    }
    await next();
  };
}

async function readLimited(stream: ReadableStream<Uint8Array> | null, limit: number, timeoutMs?: number, onChunk?: (bytes: number) => void): Promise<Uint8Array> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => reject(new RelayError(408, 'body_timeout', `the request body did not arrive within ${timeoutMs} ms`, { Connection: 'close' })), timeoutMs);
    }
  });
  timedOut.catch(() => {});
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), timedOut]);
      if (done) break;
      length += value.byteLength;
      if (length > limit) throw tooLarge(limit);
      onChunk?.(value.byteLength);
      chunks.push(value);
    }
  } catch (error) {
    // Stop reading: an oversized or stalled upload is dropped, not buffered.
    void reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The relay's body options: its read timeout and its budget, each client named as rate limits name it. */
export function relayBodyOptions(services: RelayServices): BinaryBodyOptions {
  const { config } = services;
  return {
    readTimeoutMs: config.bodyReadTimeoutMs,
    budget: { budget: services.bodyBudget, client: (c) => clientKey(c, config.trustProxyHops) ?? 'in-process' },
  };
}
