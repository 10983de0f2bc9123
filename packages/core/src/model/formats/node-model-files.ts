// Node only (not exported from the browser entry): opens model files and
// folders on disk and detects their format.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ByteSource } from './byte-source.ts';
import { GGUF_MAGIC } from './gguf-file.ts';
import { isHfFolder, json, loadHfFolder, type ModelFolder } from './hf-folder.ts';
import { loadGgufGpt2 } from './gguf-gpt2.ts';
import { loadHfGpt2, type LoadedGpt2Model } from './hf-gpt2.ts';
import { loadModelSource } from './load-model.ts';
import type { LoadedModel, ModelFileFormat, TokenizerFile } from './loaded-model.ts';
import { tokenizerKind } from '../tokenizer-file.ts';
import { ModelFileError } from './model-file-error.ts';
import { isFheLlmError } from '../../errors/fhe-error.ts';

/** Reads ranges with positioned reads: only the tensor being converted is in memory. */
class FileSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  readonly #fd: number;
  constructor(path: string) {
    this.name = path;
    this.#fd = openSync(path, 'r');
    this.size = fstatSync(this.#fd).size;
  }
  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.#fd, out, done, length - done, offset + done);
      if (n === 0)
        throw new ModelFileError('truncated', this.name, `file ended at byte ${offset + done} while reading ${length} bytes at ${offset}`, { expected: offset + length, got: offset + done });
      done += n;
    }
    return out;
  }
  close(): void {
    closeSync(this.#fd);
  }
}

class DiskFolder implements ModelFolder {
  readonly name: string;
  readonly #open: FileSource[] = [];
  constructor(path: string) {
    this.name = path;
  }
  has(file: string): boolean {
    return existsSync(join(this.name, file));
  }
  readBytes(file: string): Uint8Array {
    return new Uint8Array(readFileSync(join(this.name, file)));
  }
  open(file: string): ByteSource {
    const source = new FileSource(join(this.name, file));
    this.#open.push(source);
    return source;
  }
  close(): void {
    for (const s of this.#open.splice(0)) s.close();
  }
}

function magicOf(source: ByteSource): number {
  if (source.size < 4) return -1;
  const b = source.read(0, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

/** The format of a file or folder, from its magic bytes or its files. */
export function detectModelFormat(path: string): ModelFileFormat {
  if (!existsSync(path)) throw new ModelFileError('unknown_format', path, 'does not exist');
  if (statSync(path).isDirectory()) {
    const folder = new DiskFolder(path);
    if (isHfFolder(folder)) return 'safetensors';
    throw new ModelFileError('unknown_format', path, 'is a folder without config.json and model.safetensors (or model.safetensors.index.json)', { expected: 'a Hugging Face model folder' });
  }
  const source = new FileSource(path);
  try {
    const magic = magicOf(source);
    if (magic === GGUF_MAGIC) return 'gguf';
    if (magic === 0x616b3432) return 'llama2c-v1'; // v1 or v2; the loader reads the version
    if (path.endsWith('.safetensors')) return 'safetensors';
    return 'llama2c';
  } finally {
    source.close();
  }
}

/**
 * Loads a model from a llama2.c checkpoint (legacy or versioned), a GGUF file,
 * or a Hugging Face folder (a model.safetensors path means its folder).
 */
export function loadModelPath(path: string): LoadedModel {
  const format = detectModelFormat(path);
  if (format === 'safetensors') {
    const folder = new DiskFolder(statSync(path).isDirectory() ? path : dirname(path));
    try {
      if (!folder.has('config.json')) throw new ModelFileError('unknown_format', path, `${basename(path)} needs config.json beside it`);
      return loadHfFolder(folder);
    } finally {
      folder.close();
    }
  }
  const source = new FileSource(path);
  try {
    return loadModelSource(source);
  } finally {
    source.close();
  }
}

/**
 * Any model the split schedule serves: what loadModelPath loads (LLaMA
 * family), plus GPT-2 as a Hugging Face GPT2LMHeadModel folder or a GGUF
 * file of architecture gpt2.
 */
export function loadSplitModelPath(path: string): LoadedModel | LoadedGpt2Model {
  const format = detectModelFormat(path);
  if (format === 'safetensors') {
    const folder = new DiskFolder(statSync(path).isDirectory() ? path : dirname(path));
    try {
      if (!folder.has('config.json')) throw new ModelFileError('unknown_format', path, `${basename(path)} needs config.json beside it`);
      const cfg = json(folder, 'config.json');
      const arch = Array.isArray(cfg.architectures) ? cfg.architectures[0] : cfg.model_type;
      return arch === 'GPT2LMHeadModel' || arch === 'gpt2' ? loadHfGpt2(folder, cfg) : loadHfFolder(folder);
    } finally {
      folder.close();
    }
  }
  const source = new FileSource(path);
  try {
    return loadModelSource(source);
  } catch (error) {
    // A GGUF file names its architecture; loadModelSource reads LLaMA only.
    if (isFheLlmError(error, 'ModelFileError') && error.code === 'unsupported_architecture' && error.got === 'gpt2') return loadGgufGpt2(source);
    throw error;
  } finally {
    source.close();
  }
}

/**
 * The tokenizer for a loaded model: an explicit file wins, then the model's
 * own vocabulary (GGUF, Hugging Face folders), then tokenizer.bin or
 * tokenizer.json beside a llama2.c checkpoint.
 */
export function tokenizerForModel(model: Pick<LoadedModel, 'tokenizer' | 'source'>, explicitPath?: string): TokenizerFile & { path?: string } {
  const read = (path: string) => {
    const bytes = new Uint8Array(readFileSync(path));
    return { kind: tokenizerKind(bytes), bytes, path };
  };
  if (explicitPath !== undefined) return read(explicitPath);
  if (model.tokenizer) return model.tokenizer;
  const dir = statSync(model.source).isDirectory() ? model.source : dirname(model.source);
  for (const name of ['tokenizer.json', 'tokenizer.bin']) {
    if (existsSync(join(dir, name))) return read(join(dir, name));
  }
  throw new ModelFileError('missing_tokenizer', model.source, 'carries no vocabulary and has no tokenizer.bin or tokenizer.json beside it; give a tokenizer file', { expected: 'a tokenizer file' });
}
