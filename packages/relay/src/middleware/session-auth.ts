import type { MiddlewareHandler } from 'hono';
import { RelayError } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';
import { parseBearer, secretMatches } from '../sessions/session-credentials.ts';
import type { SessionStore } from '../sessions/session-store.ts';

const unauthorized = (message: string) => new RelayError(401, 'unauthorized', message, { 'WWW-Authenticate': 'Bearer' });

/**
 * Require `Authorization: Bearer <id>.<secret>` for a live session and put
 * the session in `c.var.session`. A missing or wrong secret is 401; an
 * unknown, expired or deleted session is 404 `session_not_found` (the SDK
 * answers it by uploading its keys again). With `pathParam`, the token must
 * belong to the session named in the path. A session created under a
 * client credential answers 403 `session_principal_mismatch` to any other.
 */
export function sessionAuth(store: SessionStore, options: { pathParam?: string } = {}): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const bearer = parseBearer(c.req.header('authorization'));
    if (!bearer) throw unauthorized('send Authorization: Bearer <session token>');
    if (options.pathParam !== undefined && c.req.param(options.pathParam) !== bearer.id) throw unauthorized('the token is not for this session');
    const session = await store.get(bearer.id);
    if (!session) throw new RelayError(404, 'session_not_found', 'unknown or expired session; create a new one');
    if (!secretMatches(bearer.secret, session.secretHash)) throw unauthorized('wrong session token');
    // A session belongs to the principal that created it: a token leaked to, or shared with, another app or user is useless.
    if (session.principal !== undefined && session.principal !== c.get('principal')) {
      throw new RelayError(403, 'session_principal_mismatch', 'this session was created by another client credential');
    }
    c.set('session', session);
    await next();
  };
}
