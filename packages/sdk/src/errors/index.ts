export { RelayError } from './relay-error.ts';
export { RelayUnavailableError } from './relay-unavailable-error.ts';
export { RelayTimeoutError } from './relay-timeout-error.ts';
export { ProtocolError } from './protocol-error.ts';
export { KeyStoreError } from './key-store-error.ts';
export { SecurityPolicyError } from './security-policy-error.ts';
