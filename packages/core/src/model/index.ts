// LLaMA (llama2.c format) model support: file parsers, the float32 reference
// forward pass, sampling and generation, and the split-inference schedule that
// lets a relay evaluate the linear layers while the client keeps everything else.
export { ModelFormatError } from './model-format-error.ts';
export type { ModelFormatErrorCode } from './model-format-error.ts';
export { PrecisionError } from './precision-error.ts';
export { StepOutputError } from './step-output-error.ts';

export { parseLlama2cCheckpoint, checkpointByteLength, configFromHeader } from './checkpoint.ts';
export type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from './checkpoint.ts';
export { Tokenizer, parseLlama2cTokenizer, BOS_ID, EOS_ID } from './tokenizer.ts';
export type { EncodeOptions } from './tokenizer.ts';
export { TokenTextDecoder } from './token-text-decoder.ts';
export { HfTokenizer, parseHfTokenizer } from './hf-tokenizer.ts';
export { parseTokenizerFile, stopTokenOf, tokenizerKind } from './tokenizer-file.ts';
export type { TextTokenizer } from './tokenizer-file.ts';

export { Float32Transformer } from './forward.ts';
export { Gpt2Transformer, geluTanh, gpt2ParameterCount } from './gpt2.ts';
export type { Gpt2Config, Gpt2LayerWeights, Gpt2Weights } from './gpt2.ts';
export { Sampler, XorShiftRng, sampleArgmax, sampleMult, sampleTopP, softmaxF32 } from './sampler.ts';
export type { SamplerOptions } from './sampler.ts';
export { generate, sequentialForwarder } from './generate.ts';
export type { GenerateOptions, GenerationResult, TokenForwarder } from './generate.ts';

export { buildSchedule, embeddingPlacementFor, RELAY_EMBEDDING_MAX_VOCAB, scheduleLayout } from './schedule.ts';
export type { EmbeddingPlacement, Schedule, ScheduleStep, SplitArchitecture, StepKind, StepShape } from './schedule.ts';
export { buildGpt2Schedule, gpt2ClientTableLayout, gpt2SplitConfig, type Gpt2ClientTableLayout } from './gpt2-schedule.ts';
export { centeredStd, clientBlockFor, type ClientBlock } from './client-block.ts';
export { architectureOf, clientTableLength, describeModel, embeddingOf, validateModelDescriptor, maxRowNorm, MODEL_DESCRIPTOR_FORMAT, UNBOUNDED } from './model-descriptor.ts';
export type { ModelDescriptor, StepBounds, StepDescriptor } from './model-descriptor.ts';
export { SplitInferenceClient } from './split-client.ts';
export type { SequenceInput, SplitClientOptions, StepRunner } from './split-client.ts';
export { SplitKvCache } from './split-kv-cache.ts';
export { PlaintextStepRunner } from './plaintext-runner.ts';
export { calibrateBounds } from './calibrate.ts';
export type { CalibrationOptions, CalibrationResult } from './calibrate.ts';
export { decode, splitBatchForwarder, perSequenceForwarder } from './decode.ts';
export type { BatchForwarder, DecodeEvent, DecodeFinish, DecodeOptions, DecodeStats, ForwardRequest, PassReport } from './decode.ts';
export { draftFromContext } from './prompt-lookup.ts';
export type { PromptLookupOptions } from './prompt-lookup.ts';
export { SpeculationController } from './speculation-controller.ts';
export type { SpeculationOptions } from './speculation-controller.ts';

export * from './formats/index.ts';
export { syntheticLlama, greedyMargins, SYNTHETIC_SHAPES } from './synthetic-model.ts';
export type { GreedyMargins, SyntheticOptions, SyntheticShape } from './synthetic-model.ts';
export { GPT2_SHAPES, syntheticGpt2 } from './synthetic-gpt2.ts';
export type { Gpt2Shape, SyntheticGpt2Options } from './synthetic-gpt2.ts';
export { syntheticByteLevelVocab, type ByteLevelVocab } from './synthetic-vocab.ts';
export { LLAMA2C_NORM_EPS, LLAMA2C_ROPE_THETA } from './checkpoint.ts';
