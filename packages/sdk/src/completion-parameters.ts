/**
 * The sampling parameters' defaults and valid ranges, in one table shared by
 * `completions.create` and the CLI's flags (every mode: --plaintext,
 * --local-fhe, --relay), so the same command and the same call generate the
 * same text. Keys are the OpenAI-style names of CompletionParams.
 */
export interface CompletionParameter {
  readonly default: number;
  /** Human wording of `valid`, for error messages. */
  readonly rule: string;
  valid(value: number): boolean;
}

export const COMPLETION_PARAMETERS = {
  max_tokens: { default: 64, rule: 'an integer >= 0', valid: (v: number) => Number.isInteger(v) && v >= 0 },
  temperature: { default: 0, rule: '>= 0 (0 = greedy)', valid: (v: number) => v >= 0 && Number.isFinite(v) },
  top_p: { default: 0.9, rule: 'in (0, 1]', valid: (v: number) => v > 0 && v <= 1 },
  seed: { default: 42, rule: 'a non-zero integer', valid: (v: number) => Number.isSafeInteger(v) && v !== 0 },
  n: { default: 1, rule: 'an integer in 1..16', valid: (v: number) => Number.isInteger(v) && v >= 1 && v <= 16 },
} as const satisfies Record<string, CompletionParameter>;

export type CompletionParameterName = keyof typeof COMPLETION_PARAMETERS;
