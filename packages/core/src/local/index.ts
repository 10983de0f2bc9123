// @fhe-llm/core/local: both halves in one process (the CLI's local FHE mode,
// tests, benchmarks). Neither the relay nor the SDK's browser entry imports it.
export { LocalFheStepRunner } from './local-fhe-runner.ts';
