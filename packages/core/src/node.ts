// Node-only entry (@fhe-llm/core/node): reads model files and folders from disk.
export { detectModelFormat, loadModelPath } from './model/formats/node-model-files.ts';
