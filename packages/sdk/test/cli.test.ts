import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../bin/fhe-llm.js', import.meta.url).pathname;
const reference = JSON.parse(readFileSync(new URL('../../../models/stories260K/reference.json', import.meta.url), 'utf8')) as {
  prompt: string;
  prompt_token_ids: number[];
  next_token_ids: number[];
  text: string;
}[];

function cli(args: string[]) {
  return run(process.execPath, [bin, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

describe('fhe-llm generate', () => {
  it.each(reference.map((c) => [c.prompt, c] as const))('--plaintext --json reproduces llama2.c for prompt %j', async (_p, ref) => {
    const maxTokens = ref.next_token_ids.length - (ref.prompt_token_ids.length - 1);
    const { stdout } = await cli(['generate', '--plaintext', '--json', '--prompt', ref.prompt, '--max-tokens', String(maxTokens)]);
    const report = JSON.parse(stdout);
    expect(report.prompt_token_ids).toEqual(ref.prompt_token_ids);
    expect(report.token_ids).toEqual(ref.next_token_ids);
    expect(report.text).toBe(ref.text);
    expect(report).toHaveProperty('tokens_per_second');
  });

  it('--local-fhe runs real CKKS and reports 11 round trips per token', async () => {
    const ref = reference[0];
    const { stdout } = await cli(['generate', '--local-fhe', '--json', '--prompt', ref.prompt, '--max-tokens', '6']);
    const report = JSON.parse(stdout);
    expect(report.token_ids).toEqual(ref.next_token_ids.slice(0, ref.prompt_token_ids.length - 1 + 6));
    expect(report.round_trips_per_token).toBeLessThanOrEqual(11);
    expect(report.bytes_up).toBeGreaterThan(0);
    expect(report.bytes_down).toBeGreaterThan(0);
  });

  it('--no-speculative gives the same tokens in one pass per token', async () => {
    const ref = reference[0];
    const args = ['generate', '--plaintext', '--json', '--prompt', ref.prompt, '--max-tokens', '40'];
    const [on, off] = await Promise.all([cli(args), cli([...args, '--no-speculative'])]).then((r) => r.map((x) => JSON.parse(x.stdout)));
    expect(off.token_ids).toEqual(on.token_ids);
    expect(off).toMatchObject({ passes: 40, tokens_per_pass: 1, draft_tokens: 0 });
    expect(on.passes + on.accepted_draft_tokens).toBe(40);
  });

  it('--stream prints the text as it comes, then a newline', async () => {
    const { stdout } = await cli(['generate', '--plaintext', '--stream', '--prompt', 'Once upon a time', '--max-tokens', '8']);
    expect(stdout).toBe(`${reference[0].text.slice(0, stdout.length - 1)}\n`);
  });

  it('rejects bad flags with usage and exit code 2', async () => {
    await expect(cli(['generate', '--max-tokens', 'many'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--max-tokens') });
    await expect(cli(['generate', '--plaintext', '--local-fhe'])).rejects.toMatchObject({ code: 2 });
    await expect(cli(['frobnicate'])).rejects.toMatchObject({ code: 2 });
  });

  it('reports a missing model file clearly, exit code 1', async () => {
    await expect(cli(['generate', '--plaintext', '--model-file', '/nonexistent.bin'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('nonexistent.bin') });
  });
});
