import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';
import type { RelayEnv } from '../relay-env.ts';

/**
 * The policy for pages served with `--static` (the demo): scripts and the
 * crypto worker from this origin only, WebAssembly compilation allowed (SEAL),
 * requests only back to this origin. The API keeps its `default-src 'none'`.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Headers for the site's pages. Mount it before the security middleware: its
 * code after `next()` then runs last and replaces the API's CSP on pages only.
 */
export function pageHeaders(): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    await next();
    if (c.req.path.startsWith('/v1/') || !c.res.headers.get('content-type')) return;
    if (c.res.headers.get('content-type')!.startsWith('application/json')) return;
    c.res.headers.set('Content-Security-Policy', PAGE_CSP);
    // Hashed assets never change; the page itself must be revalidated.
    c.res.headers.set('Cache-Control', c.req.path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
  };
}

/** Serve a built site (for example `examples/demo/dist`) at `/`, beside the API. */
export function staticSite(root: string): Hono<RelayEnv> {
  const site = new Hono<RelayEnv>();
  site.use('*', pageHeaders());
  site.get('*', serveStatic({ root }));
  return site;
}
