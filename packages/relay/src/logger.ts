import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Bearer tokens carry session secrets and API keys are
 * credentials, so anything that looks like an authorization header, a token
 * or a key is censored wherever a caller might log it.
 */
export const REDACTED_PATHS = [
  'authorization',
  'token',
  'secret',
  '*.authorization',
  '*.token',
  '*.secret',
  'req.headers.authorization',
  'headers.authorization',
  'headers.Authorization',
  'headers["x-api-key"]',
  'headers["x-client-token"]',
  'apiKeys',
  '*.apiKeys',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'fhe-llm-relay' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
