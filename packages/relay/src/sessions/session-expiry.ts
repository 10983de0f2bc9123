/**
 * A session's expiry: the idle TTL counted from `now` (it slides with use),
 * never past the absolute lifetime counted from `createdAt` (it does not).
 */
export function sessionExpiry(config: { sessionTtl: number; sessionMaxLifetime: number }, createdAt: number, now: number): number {
  return Math.min(now + config.sessionTtl * 1000, createdAt + config.sessionMaxLifetime * 1000);
}
