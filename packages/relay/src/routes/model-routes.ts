import { Hono } from 'hono';
import { modelLookup } from '../middleware/model-lookup.ts';
import type { RelayEnv } from '../relay-env.ts';
import type { RelayServices } from '../relay-services.ts';

/**
 * Public model information: descriptors (shapes, calibrated bounds, preset,
 * Galois steps, plans) and tokenizer files. Weights are never served.
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
  return app;
}
