// Node-only entry (@fhe-llm/core/node): reads model files and folders from disk.
export { detectModelFormat, loadModelPath, loadSplitModelPath, tokenizerForModel } from './model/formats/node-model-files.ts';
export { writeGpt2Model, writeModel, vocabularyFor, WRITE_FORMATS, type WriteFormat } from './model/formats/node-write-model.ts';
export { applyHeapGrowth, DEFAULT_HEAP_GROWTH_PERCENT } from './heap-growth.ts';
