import { Hono } from 'hono';
import { modelLookup } from '../middleware/model-lookup.ts';
import { RelayError } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';
import type { RelayServices } from '../relay-services.ts';

/**
 * Public model information: descriptors (shapes, calibrated bounds, preset,
 * Galois steps, plans) and tokenizer files. Weights are never served, except
 * the token-embedding table of a model whose descriptor puts the lookup on
 * the client (a client could read it row by row through the one-hot step anyway).
 */
export function modelRoutes(services: RelayServices): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  // Each entry: the descriptor, plus architecture, parameter count, vocabulary, format and source.
  app.get('/v1/models', (c) => c.json({ models: [...services.models.values()].map((m) => ({ ...m.descriptor, ...m.info })) }));
  app.get('/v1/models/:id', modelLookup(services), (c) => c.json(c.var.model.descriptor));
  app.get('/v1/models/:id/tokenizer', modelLookup(services), (c) =>
    c.body(c.var.model.tokenizer.slice(), 200, {
      'Content-Type': c.var.model.info.vocabulary.tokenizer === 'hf-json' ? 'application/json' : 'application/octet-stream',
      'Cache-Control': 'public, max-age=3600',
    }),
  );
  app.get('/v1/models/:id/client-table', modelLookup(services), (c) => {
    const table = c.var.model.clientTable;
    if (!table) throw new RelayError(404, 'client_table_not_served', `model ${c.var.model.id} embeds tokens on the relay (descriptor "embedding": "relay")`);
    const etag = `"${table.sha256}"`;
    const headers = { ETag: etag, 'Cache-Control': 'public, max-age=86400', 'Content-Type': 'application/octet-stream' };
    // Tens to hundreds of MB: let a cached copy answer with 304.
    if (
      c.req
        .header('If-None-Match')
        ?.split(',')
        .some((t) => t.trim() === etag)
    )
      return c.body(null, 304, headers);
    return c.body(chunked(table.bytes), 200, { ...headers, 'Content-Length': String(table.bytes.length) });
  });
  return app;
}

/** Streams views of `bytes`, so no request copies the whole table (a Uint8Array body would be copied). */
function chunked(bytes: Uint8Array, chunkBytes = 1 << 20): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, (at += chunkBytes)));
    },
  });
}
