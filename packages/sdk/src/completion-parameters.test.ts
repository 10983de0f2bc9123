import { describe, expect, it } from 'vitest';
import { GENERATE_USAGE, parseGenerateArgs, type GenerateArgs } from './cli/generate-args.ts';
import { COMPLETION_PARAMETERS } from './completion-parameters.ts';

const files = { modelFile: 'm.bin', tokenizerFile: 't.bin' };
const parse = (argv: string[]) => parseGenerateArgs(argv, files) as GenerateArgs;

describe('COMPLETION_PARAMETERS, shared by completions.create and the CLI', () => {
  it('gives the CLI its defaults and documents them in --help', () => {
    const args = parse([]);
    expect(args).toMatchObject({
      maxTokens: COMPLETION_PARAMETERS.max_tokens.default,
      temperature: COMPLETION_PARAMETERS.temperature.default,
      topP: COMPLETION_PARAMETERS.top_p.default,
      seed: COMPLETION_PARAMETERS.seed.default,
    });
    expect(GENERATE_USAGE).toContain(`(default: ${COMPLETION_PARAMETERS.top_p.default})`);
    expect(GENERATE_USAGE).toContain(`(default: ${COMPLETION_PARAMETERS.max_tokens.default})`);
  });

  it.each([
    ['--max-tokens', '1.5', COMPLETION_PARAMETERS.max_tokens.rule],
    ['--temperature', 'Infinity', COMPLETION_PARAMETERS.temperature.rule],
    ['--top-p', '0', COMPLETION_PARAMETERS.top_p.rule],
    ['--seed', '0', COMPLETION_PARAMETERS.seed.rule],
  ])('makes the CLI refuse %s %s with the rule', (flag, value, rule) => {
    expect(() => parse([flag, value])).toThrow(rule);
  });

  it('accepts each default and refuses NaN', () => {
    for (const p of Object.values(COMPLETION_PARAMETERS)) {
      expect(p.valid(p.default)).toBe(true);
      expect(p.valid(Number.NaN)).toBe(false);
    }
  });
});
