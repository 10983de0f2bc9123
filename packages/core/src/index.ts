// @fhe-llm/core: the isomorphic toolkit both sides share (SEAL and presets,
// the linear planner and operator, the wire envelope, errors, models). The
// protocol, client, server and local halves have their own entries
// (./protocol, ./client, ./server, ./local) and are not re-exported here, so
// importing this entry never reaches the secret-key half or the relay's.
export * from './errors/index.ts';
export { loadSeal, type LoadSealOptions, type Seal } from './seal/load-seal.ts';
export {
  getPreset,
  presetIds,
  createSealContext,
  operatorScales,
  plaintextBytesOf,
  DEFAULT_PRESET,
  FLAT_HEADROOM_FACTOR,
  MAX_ROTATED_INPUT_ERROR,
  type Preset,
  type PresetParameters,
  type OperatorScales,
  type OperatorBounds,
} from './seal/presets.ts';
export { CkksContext } from './seal/ckks-context.ts';
export {
  boundSealObject,
  maxSealObjectBytes,
  ciphertextSerializedBytes,
  readSealHeader,
  SEAL_HEADER_BYTES,
  type SealHeader,
  type SealObjectRule,
  type SealCompression,
} from './seal/seal-object-limits.ts';
export { inflateBounded, checkZstdFrame, inflationTooLarge, badCompression, type Inflate, type ZstdFrame } from './seal/bounded-inflate.ts';
export { planLinear, planForVectors, unionGaloisSteps, ciphertextBytes, type LinearPlan, type PlanCost, type PlanOptions } from './linear/plan.ts';
export { packInput, unpackOutput, diagonalSlots, biasSlots, outputSlotRows, rotateSlots, checkWeights, type LinearWeights } from './linear/layout.ts';
export { evaluatePlanPlain, linearReference } from './linear/plain-twin.ts';
export { LinearOperator, plaintextBytes, type EvaluationStats, type GiantPart, type OperatorHolding, type WeightEncoding } from './linear/linear-operator.ts';
export { encodeEnvelope, decodeEnvelope, ENVELOPE_MAGIC, ENVELOPE_VERSION, MAX_ENVELOPE_ITEMS, type Envelope, type EnvelopeKindName } from './wire/envelope.ts';
export { describeEncryptedModel, planModelStep, planVectorCounts, PLANNER_VERSION, type EncryptedModelDescriptor, type DescribeOptions } from './inference/encrypted-model.ts';
export {
  AUTO_PRESET,
  autoPlanning,
  buildSplitSchedule,
  isGpt2Weights,
  LARGE_MODEL_MS_PER_UPLOAD_BYTE,
  LARGE_MODEL_PRESET,
  prepareModel,
  CALIBRATION_PROMPTS,
  type PrepareModelOptions,
  type PreparedModel,
} from './inference/prepare-model.ts';
export { calibrationKey, CALIBRATION_VERSION, type CalibrationCache } from './inference/calibration-cache.ts';
export * from './model/index.ts';
