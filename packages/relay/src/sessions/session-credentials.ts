import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new session's public id, its bearer token `<id>.<secret>` and what the store keeps. */
export interface SessionCredentials {
  id: string;
  token: string;
  secretHash: string;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function newSessionCredentials(): SessionCredentials {
  const id = randomBytes(16).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `${id}.${secret}`, secretHash: sha256Hex(secret) };
}

const TOKEN = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;

/** `Bearer <id>.<secret>` split into its parts, or undefined when malformed. */
export function parseBearer(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  const token = match && TOKEN.exec(match[1]);
  return token ? { id: token[1], secret: token[2] } : undefined;
}

/**
 * Compare a presented secret with the stored hash in constant time: both
 * sides are SHA-256 digests, so lengths always match and timing reveals
 * nothing about the stored value.
 */
export function secretMatches(secret: string, secretHash: string): boolean {
  const presented = createHash('sha256').update(secret).digest();
  const stored = Buffer.from(secretHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}
