import { Hono } from 'hono';
import { WireFormatError, decodeEnvelope, readSealHeader } from '@fhe-llm/core';
import { needsPublicKey } from '@fhe-llm/core/protocol';
import { joinKeyBlob } from '../pool/key-blob.ts';
import { binaryBody, relayBodyOptions } from '../middleware/binary-body.ts';
import { admitBeforeReading } from '../middleware/admission.ts';
import { sessionExpiry } from '../sessions/session-expiry.ts';
import { deadline } from '../middleware/deadline.ts';
import { modelLookup } from '../middleware/model-lookup.ts';
import { clientKey, rateLimit } from '../middleware/rate-limit.ts';
import { sessionAuth } from '../middleware/session-auth.ts';
import { toSharedBytes } from '../pool/shared-bytes.ts';
import { RelayError, notReady } from '../relay-error.ts';
import type { RelayEnv } from '../relay-env.ts';
import type { RelayServices } from '../relay-services.ts';
import { newSessionCredentials, sha256Hex } from '../sessions/session-credentials.ts';
import type { SessionRecord } from '../sessions/session-store.ts';

/** Galois keys for every step of a model; seeded and compressed they are about a megabyte. */
export const KEYS_BODY_LIMIT = 8 * 1024 * 1024;

function publicView(session: SessionRecord) {
  return {
    id: session.id,
    model: session.model,
    createdAt: new Date(session.createdAt).toISOString(),
    expiresAt: new Date(session.expiresAt).toISOString(),
    keysHash: session.keysHash,
    keyBytes: session.keyBytes,
  };
}

/**
 * Sessions: a client uploads its Galois keys once and gets a bearer token
 * for the step route. Keys are validated by SEAL (in a worker) and must
 * cover every rotation the model's plans use; identical key bytes are
 * stored once.
 */
export function sessionRoutes(services: RelayServices): Hono<RelayEnv> {
  const { store, config } = services;
  const app = new Hono<RelayEnv>();

  // Limited before the 1 MB body is read.
  const limited = rateLimit(services.rateLimits.sessions, config.trustProxyHops);
  app.post(
    '/v1/sessions',
    deadline(config.requestTimeoutMs),
    limited,
    modelLookup(services, 'query'),
    admitBeforeReading(services),
    binaryBody(KEYS_BODY_LIMIT, relayBodyOptions(services)),
    async (c) => {
      const model = c.var.model;
      const pool = services.pool;
      if (!pool) throw notReady();
      if ((await store.count()) >= config.maxSessions) {
        throw new RelayError(503, 'too_many_sessions', 'the relay holds as many sessions as it may; retry later', { 'Retry-After': '60' });
      }
      // One client (principal and address, as rate limits count) cannot take the whole store.
      const owner = clientKey(c, config.trustProxyHops);
      if (owner !== undefined && (await store.countOwned(owner)) >= config.maxSessionsPerClient) {
        throw new RelayError(429, 'session_quota_exceeded', `this client holds ${config.maxSessionsPerClient} sessions; delete one or wait for one to expire`, { 'Retry-After': '60' });
      }
      const envelope = decodeEnvelope(c.var.body, { kind: 'galoisKeys', presetId: model.descriptor.preset, maxItems: 2 });
      if (envelope.vectors !== 0) throw new WireFormatError('bad_header', 'a key envelope has vectors = 0', { expected: 0, got: envelope.vectors });
      // Each item must be exactly one SEAL object, so the stored blob splits again at the first header's size.
      for (const item of envelope.items) {
        const { size } = readSealHeader(item);
        if (size !== item.length) throw new WireFormatError('bad_seal_header', 'bytes after the SEAL object', { expected: size, got: item.length });
      }
      // Galois keys, then the client's public key when this relay re-randomizes responses (descriptor.responsePrivacy).
      const wantPublicKey = needsPublicKey(model.descriptor.responsePrivacy);
      const items = wantPublicKey ? 2 : 1;
      if (envelope.items.length !== items) {
        if (wantPublicKey && envelope.items.length === 1) {
          throw new RelayError(400, 'public_key_required', `this relay re-randomizes responses (${model.descriptor.responsePrivacy?.mode}): the key envelope carries Galois keys, then a public key`);
        }
        throw new WireFormatError(envelope.items.length === 2 ? 'public_key_not_expected' : 'bad_count', `a key envelope for this relay carries exactly ${items} item${items > 1 ? 's' : ''}`, {
          expected: items,
          got: envelope.items.length,
        });
      }
      const keys = joinKeyBlob(envelope.items[0], envelope.items[1]);
      const keysHash = sha256Hex(keys);
      const blob = (await store.getKeys(keysHash)) ?? toSharedBytes(keys);
      await pool.checkKeys(model.id, { hash: keysHash, bytes: blob }, c.var.signal);

      const credentials = newSessionCredentials();
      const now = Date.now();
      const session: SessionRecord = {
        id: credentials.id,
        secretHash: credentials.secretHash,
        model: model.id,
        keysHash,
        keyBytes: keys.byteLength,
        ...(c.var.principal ? { principal: c.var.principal } : {}),
        ...(owner !== undefined ? { owner } : {}),
        createdAt: now,
        expiresAt: sessionExpiry(config, now, now),
      };
      await store.create(session, blob);
      services.metrics.sessionsCreated.inc({ model: model.id });
      const { createdAt: _createdAt, ...created } = publicView(session);
      return c.json({ ...created, token: credentials.token }, 201, { Location: `/v1/sessions/${session.id}`, 'Cache-Control': 'no-store' });
    },
  );

  app.get('/v1/sessions/:id', sessionAuth(store, { pathParam: 'id' }), (c) => c.json(publicView(c.var.session), 200, { 'Cache-Control': 'no-store' }));

  app.delete('/v1/sessions/:id', sessionAuth(store, { pathParam: 'id' }), async (c) => {
    await store.delete(c.var.session.id);
    return c.body(null, 204);
  });
  return app;
}
