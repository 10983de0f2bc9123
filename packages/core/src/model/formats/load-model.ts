import { memorySource, type ByteSource } from './byte-source.ts';
import { GGUF_MAGIC } from './gguf-file.ts';
import { loadGguf } from './gguf-model.ts';
import { isHfFolder, json, loadHfFolder, type ModelFolder } from './hf-folder.ts';
import { loadHfGpt2, type LoadedGpt2Model } from './hf-gpt2.ts';
import { loadLlama2c } from './llama2c-file.ts';
import type { LoadedModel } from './loaded-model.ts';
import { ModelFileError } from './model-file-error.ts';

/** Loads a single-file model (GGUF by its magic, otherwise llama2.c legacy or versioned). */
export function loadModelSource(source: ByteSource): LoadedModel {
  if (source.size >= 4) {
    const b = source.read(0, 4);
    if (new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) === GGUF_MAGIC) return loadGguf(source);
  }
  return loadLlama2c(source);
}

/** Loads a model from bytes in memory (browser, tests). */
export function loadModelBytes(bytes: Uint8Array, name = 'model'): LoadedModel {
  return loadModelSource(memorySource(bytes, name));
}

/** Loads a Hugging Face model folder. */
export function loadModelFolder(folder: ModelFolder): LoadedModel {
  if (!isHfFolder(folder)) throw new ModelFileError('unknown_format', folder.name, 'needs config.json and model.safetensors (or model.safetensors.index.json)');
  return loadHfFolder(folder);
}

/** A folder held in memory (name -> bytes). */
export function memoryFolder(name: string, files: ReadonlyMap<string, Uint8Array>): ModelFolder {
  const get = (file: string): Uint8Array => {
    const bytes = files.get(file);
    if (!bytes) throw new ModelFileError('unknown_format', `${name}/${file}`, 'does not exist');
    return bytes;
  };
  return {
    name,
    has: (file) => files.has(file),
    readBytes: get,
    open: (file) => memorySource(get(file), `${name}/${file}`),
  };
}

/** Loads a Hugging Face GPT2LMHeadModel folder (servable: buildGpt2Schedule; the relay loads it through loadSplitModelPath). */
export function loadGpt2Folder(folder: ModelFolder): LoadedGpt2Model {
  const cfg = json(folder, 'config.json');
  const arch = Array.isArray(cfg.architectures) ? cfg.architectures[0] : cfg.model_type;
  if (arch !== 'GPT2LMHeadModel' && arch !== 'gpt2') {
    throw new ModelFileError('unsupported_architecture', `${folder.name}/config.json`, `architecture ${JSON.stringify(arch)} is not GPT2LMHeadModel`, { expected: ['GPT2LMHeadModel'], got: arch });
  }
  return loadHfGpt2(folder, cfg);
}
