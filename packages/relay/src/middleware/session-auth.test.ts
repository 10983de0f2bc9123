import { Hono } from 'hono';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { RelayEnv } from '../relay-env.ts';
import { MemorySessionStore } from '../sessions/memory-session-store.ts';
import { newSessionCredentials } from '../sessions/session-credentials.ts';
import { errorHandler } from './error-handler.ts';
import { sessionAuth } from './session-auth.ts';

const store = new MemorySessionStore();
afterAll(() => store.close());
const app = new Hono<RelayEnv>();
app.get('/any', sessionAuth(store), (c) => c.json({ id: c.var.session.id }));
app.get('/sessions/:id', sessionAuth(store, { pathParam: 'id' }), (c) => c.json({ id: c.var.session.id }));
app.onError(errorHandler(pino({ level: 'silent' })));

async function newSession() {
  const c = newSessionCredentials();
  await store.create({ id: c.id, secretHash: c.secretHash, model: 'm', keysHash: 'h', keyBytes: 1, createdAt: Date.now(), expiresAt: Date.now() + 60_000 }, new Uint8Array(1));
  return c;
}
const get = (path: string, token?: string) => app.request(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe('sessionAuth', () => {
  it('admits the right token and exposes the session', async () => {
    const s = await newSession();
    expect(await (await get('/any', s.token)).json()).toEqual({ id: s.id });
    expect((await get(`/sessions/${s.id}`, s.token)).status).toBe(200);
  });

  it('answers 401 unauthorized without a token, with a malformed one, or the wrong secret', async () => {
    const s = await newSession();
    const other = newSessionCredentials();
    for (const token of [undefined, 'garbage', `${s.id}.${other.token.split('.')[1]}`]) {
      const res = await get('/any', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await code(res)).toBe('unauthorized');
    }
  });

  it('answers 404 session_not_found for an unknown or deleted session', async () => {
    const s = await newSession();
    await store.delete(s.id);
    const res = await get('/any', s.token);
    expect(res.status).toBe(404);
    expect(await code(res)).toBe('session_not_found');
    expect((await get('/any', newSessionCredentials().token)).status).toBe(404);
  });

  it('refuses a token for another session than the path names', async () => {
    const a = await newSession();
    const b = await newSession();
    expect((await get(`/sessions/${b.id}`, a.token)).status).toBe(401);
  });
});
