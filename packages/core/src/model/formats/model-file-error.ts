import { FheLlmError } from '../../errors/fhe-error.ts';

/** Why a model file or folder cannot be loaded; see `ModelFileError.code`. */
export type ModelFileErrorCode =
  | 'unknown_format'
  | 'truncated'
  | 'bad_header'
  | 'bad_metadata'
  | 'missing_tensor'
  | 'bad_shape'
  | 'unsupported_dtype'
  | 'unsupported_architecture'
  | 'missing_tokenizer';

/**
 * A model file (llama2.c, GGUF, safetensors, Hugging Face folder) that cannot be
 * loaded. Names the file and, where one is at fault, the tensor; `expected` and
 * `got` say what disagreed (a shape, a byte count, a dtype name).
 */
export class ModelFileError extends FheLlmError {
  override name = 'ModelFileError';
  readonly file: string;
  readonly tensor: string | undefined;

  constructor(code: ModelFileErrorCode, file: string, message: string, details: { tensor?: string; expected?: unknown; got?: unknown; cause?: unknown } = {}) {
    const where = details.tensor === undefined ? file : `${file}, tensor ${details.tensor}`;
    super(code, `${where}: ${message}`, details);
    this.file = file;
    this.tensor = details.tensor;
  }
}
