// Model files users bring: llama2.c (legacy and versioned), GGUF and Hugging
// Face folders, detected and dequantized to float32 LLaMA weights; writers for
// the synthetic models. The Node file loader lives in node-model-files.ts.
export { ModelFileError } from './model-file-error.ts';
export type { ModelFileErrorCode } from './model-file-error.ts';
export { memorySource, type ByteSource } from './byte-source.ts';
export { llamaParameterCount, type LoadedModel, type ModelFileFormat, type TokenizerFile } from './loaded-model.ts';
export { loadGpt2Folder, loadModelBytes, loadModelFolder, loadModelSource, memoryFolder } from './load-model.ts';
export type { LoadedGpt2Model } from './hf-gpt2.ts';
export type { ModelFolder } from './hf-folder.ts';
export { loadLlama2c } from './llama2c-file.ts';
export { loadGguf } from './gguf-model.ts';
export { parseGguf, readGgufTensor, ggmlTypeName, type GgufFile, type GgufTensorInfo, type GgufValue } from './gguf-file.ts';
export { parseSafetensors, readSafetensor } from './safetensors-file.ts';
export { llama2cLegacyChunks, llama2cV1Chunks, llama2cV2Chunks } from './llama2c-writer.ts';
export { ggufChunks, type GgufVocab, type GgufWriteOptions } from './gguf-writer.ts';
export { hfLlamaFiles, hfLlamaFolderBytes, safetensorsChunks } from './hf-writer.ts';
export { writeLlama2cTokenizer } from './llama2c-tokenizer-writer.ts';
export { concatChunks, type TensorDtype } from './tensor-encoding.ts';
export { byteLevelTokenizerJson } from './gguf-vocab.ts';
export { sentencePieceTokenizerJson } from './sentencepiece-tokenizer-json.ts';
export { loadGgufGpt2, ggufGpt2Chunks } from './gguf-gpt2.ts';
export { ggufFileChunks, type GgufTensorSpec } from './gguf-writer.ts';
