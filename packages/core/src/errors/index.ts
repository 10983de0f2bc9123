export { FheLlmError, isFheLlmError } from './fhe-error.ts';
export { WireFormatError } from './wire-format-error.ts';
export { PlanError } from './plan-error.ts';
export { PresetError } from './preset-error.ts';
export { SealError, sealCall, describeSealException } from './seal-error.ts';
export { errorFromTransfer, errorToTransfer, type TransferredError } from './error-transfer.ts';
