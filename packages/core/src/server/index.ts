// @fhe-llm/core/server: the relay's half, evaluating on ciphertexts it cannot
// decrypt. The SDK's browser entry never imports it: see packages/sdk/src/import-boundary.test.ts.
export { splitRequestGroups, evaluateGroup, evaluateGroupPart, evaluateGroupShared, encodeStepResponse, splitOutputTiles } from './step-exchange.ts';
export { ResponseRerandomizer, gaussianSamples } from './response-rerandomizer.ts';
export { StepOperators, type StepOperatorsOptions } from './step-operators.ts';
export { isSharded, tileOwner, heldTiles, shardTiles, partsHeldApart, partOwner, heldParts, DEFAULT_SHARED_PARTS_MAX_BYTES, type TileShard } from './tile-shards.ts';
