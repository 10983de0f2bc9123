export { Relay, type RelayOptions } from './relay.ts';
export { createApp } from './app.ts';
export { loadHostedModel, type HostedModel } from './models/hosted-model.ts';
export { parseCommandLine, helpText, relayConfigSchema, BUNDLED_MODEL, type RelayConfig, type RelayConfigInput, type ModelSpec } from './config.ts';
export { createLogger } from './logger.ts';
export { MemorySessionStore } from './sessions/memory-session-store.ts';
export type { SessionStore, SessionRecord } from './sessions/session-store.ts';
export { openApiDocument } from './openapi/openapi-document.ts';
export { RelayError } from './relay-error.ts';
