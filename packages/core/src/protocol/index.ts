// @fhe-llm/core/protocol: what the client and the relay agree on, imported by both sides.
export { planStep, groupSizes, type StepShape as LinearStepShape } from './step-plan.ts';
export { RESPONSE_PRIVACY_MODES, needsPublicKey, type ResponsePrivacy, type ResponsePrivacyMode } from './response-privacy.ts';
export type { SessionGrant } from './session-grant.ts';
