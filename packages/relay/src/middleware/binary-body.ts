import type { Context, MiddlewareHandler } from 'hono';
import { RelayError } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';

export const OCTET_STREAM = 'application/octet-stream';

function tooLarge(limit: number): RelayError {
  return new RelayError(413, 'body_too_large', `request body exceeds ${limit} bytes`);
}

/**
 * Require an `application/octet-stream` body of at most `limit` bytes and
 * put it in `c.var.body`. The declared Content-Length is refused before
 * reading; a body without one (chunked) is cut off as soon as it overflows,
 * so an oversized upload never sits in memory.
 */
export function binaryBody(limit: number | ((c: Context<RelayEnv>) => number)): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== OCTET_STREAM) throw new RelayError(415, 'unsupported_media_type', `send the body as ${OCTET_STREAM}`);
    const max = typeof limit === 'number' ? limit : limit(c);
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > max) throw tooLarge(max);
    c.set('body', await readLimited(c.req.raw.body, max));
    await next();
  };
}

async function readLimited(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (!stream) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
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
