import { parseArgs } from 'node:util';
import { DEFAULT_PRESET, FheLlmError } from '@fhe-llm/core';
import { COMPLETION_PARAMETERS, type CompletionParameter } from '../completion-parameters.ts';

export type GenerateMode = 'plaintext' | 'local-fhe' | 'relay';

export interface GenerateArgs {
  mode: GenerateMode;
  modelFile: string;
  /** Undefined: the model's own vocabulary, a tokenizer beside it, or the bundled one for the bundled model. */
  tokenizerFile?: string;
  relayUrl?: string;
  keyDir?: string;
  modelId: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  preset: string;
  json: boolean;
  stream: boolean;
  speculative: boolean;
}

export const GENERATE_USAGE = `Usage: fhe-llm generate [options]

Generate text with a LLaMA-family or GPT-2 model (llama2.c, GGUF or Hugging Face folder), privately.

Modes (default --local-fhe, or --relay when a URL is given):
  --plaintext            reference float32 forward pass, no encryption
  --local-fhe            real CKKS encryption, relay evaluated in this process
  --relay URL            real CKKS encryption through a relay over HTTP

Options:
  --model-file PATH      model file or folder: llama2.c .bin (legacy or export v1/v2),
                         GGUF, or a Hugging Face folder (default: bundled stories260K)
  --tokenizer PATH       tokenizer.bin or tokenizer.json (default: the model's own
                         vocabulary, else tokenizer.bin/.json beside the model)
  --model ID             model id on the relay (default: stories260K)
  --prompt TEXT          prompt (default: "")
  --max-tokens N         tokens to generate after the prompt (default: ${COMPLETION_PARAMETERS.max_tokens.default})
  --temperature T        0 = greedy (default: ${COMPLETION_PARAMETERS.temperature.default})
  --top-p P              nucleus sampling mass (default: ${COMPLETION_PARAMETERS.top_p.default})
  --seed S               sampling seed, non-zero (default: ${COMPLETION_PARAMETERS.seed.default})
  --preset ID            CKKS preset for --local-fhe (default: ${DEFAULT_PRESET})
  --key-dir PATH         where --relay keeps keys between runs
                         (default: $FHE_LLM_KEY_DIR or ~/.local/share/fhe-llm/keys)
  --no-speculative       one token per forward pass (default: each pass also
                         carries draft tokens from prompt lookup when they pay;
                         same tokens either way)
  --json                 print one JSON object at the end
  --stream               print text as it is generated
  -h, --help             show this help
`;

/** A command line the CLI cannot run (code `bad_usage`); it prints the message and exits 2. */
export class UsageError extends FheLlmError {
  override name = 'UsageError';

  constructor(message: string) {
    super('bad_usage', message);
  }
}

/** A sampling flag: its default and valid range come from the table completions.create uses. */
function number(name: string, raw: string | undefined, parameter: CompletionParameter): number {
  if (raw === undefined) return parameter.default;
  const n = Number(raw);
  if (!Number.isFinite(n) || !parameter.valid(n)) throw new UsageError(`--${name} got "${raw}", expected ${parameter.rule}`);
  return n;
}

/** Parse `generate` flags; throws UsageError with what was wrong. */
export function parseGenerateArgs(argv: string[], defaults: { modelFile: string; tokenizerFile: string }): GenerateArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        plaintext: { type: 'boolean' },
        'local-fhe': { type: 'boolean' },
        relay: { type: 'string' },
        'key-dir': { type: 'string' },
        'model-file': { type: 'string' },
        tokenizer: { type: 'string' },
        model: { type: 'string' },
        prompt: { type: 'string' },
        'max-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        seed: { type: 'string' },
        preset: { type: 'string' },
        json: { type: 'boolean' },
        stream: { type: 'boolean' },
        'no-speculative': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const modes = [v.plaintext && 'plaintext', v['local-fhe'] && 'local-fhe', v.relay !== undefined && 'relay'].filter(Boolean) as GenerateMode[];
  if (modes.length > 1) throw new UsageError(`choose one mode, got ${modes.map((m) => `--${m}`).join(' and ')}`);
  return {
    mode: modes[0] ?? 'local-fhe',
    modelFile: v['model-file'] ?? defaults.modelFile,
    tokenizerFile: v.tokenizer ?? (v['model-file'] === undefined ? defaults.tokenizerFile : undefined),
    relayUrl: v.relay,
    keyDir: v['key-dir'],
    modelId: v.model ?? 'stories260K',
    prompt: v.prompt ?? '',
    maxTokens: number('max-tokens', v['max-tokens'], COMPLETION_PARAMETERS.max_tokens),
    temperature: number('temperature', v.temperature, COMPLETION_PARAMETERS.temperature),
    topP: number('top-p', v['top-p'], COMPLETION_PARAMETERS.top_p),
    seed: number('seed', v.seed, COMPLETION_PARAMETERS.seed),
    preset: v.preset ?? DEFAULT_PRESET,
    json: v.json ?? false,
    stream: v.stream ?? false,
    speculative: !(v['no-speculative'] ?? false),
  };
}
