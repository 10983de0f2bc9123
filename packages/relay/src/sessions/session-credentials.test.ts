import { describe, expect, it } from 'vitest';
import { newSessionCredentials, parseBearer, secretMatches, sha256Hex } from './session-credentials.ts';

describe('session credentials', () => {
  it('makes a 128-bit hex id and a 256-bit base64url secret joined as the token', () => {
    const c = newSessionCredentials();
    expect(c.id).toMatch(/^[0-9a-f]{32}$/);
    const [id, secret] = c.token.split('.');
    expect(id).toBe(c.id);
    expect(Buffer.from(secret, 'base64url').length).toBe(32);
    expect(c.secretHash).toBe(sha256Hex(secret));
    expect(c.token).not.toContain(c.secretHash);
    expect(newSessionCredentials().id).not.toBe(c.id);
  });

  it('parses only well-formed bearer headers', () => {
    const c = newSessionCredentials();
    expect(parseBearer(`Bearer ${c.token}`)).toEqual({ id: c.id, secret: c.token.split('.')[1] });
    expect(parseBearer(`bearer ${c.token}`)?.id).toBe(c.id);
    for (const bad of [undefined, '', 'Bearer', `Basic ${c.token}`, `Bearer ${c.id}`, `Bearer ${c.token}x`, `Bearer ${c.token.toUpperCase()}`, `Bearer ${c.token} extra`]) {
      expect(parseBearer(bad)).toBeUndefined();
    }
  });

  it('matches the secret against its stored hash', () => {
    const c = newSessionCredentials();
    const { secret } = parseBearer(`Bearer ${c.token}`)!;
    expect(secretMatches(secret, c.secretHash)).toBe(true);
    expect(secretMatches(`${secret.slice(1)}A`, c.secretHash)).toBe(false);
    expect(secretMatches(secret, 'not-hex')).toBe(false);
  });
});
