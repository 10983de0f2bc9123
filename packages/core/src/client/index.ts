// @fhe-llm/core/client: the half that holds the secret key (the SDK's crypto
// worker). The relay never imports it: see packages/relay/src/import-boundary.test.ts.
export { CkksClient } from './ckks-client.ts';
export { encryptStepRequest, decryptStepResponse, maxStepResponseBytes, runEncryptedStep, type TrafficCounters } from './step-exchange.ts';
