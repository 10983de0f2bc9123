import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { relayWithClient } from './relay-process.ts';

const reference = JSON.parse(readFileSync(new URL('../../../models/stories260K/reference.json', import.meta.url), 'utf8')) as {
  prompt: string;
  prompt_token_ids: number[];
  next_token_ids: number[];
}[];
const generatedOf = (c: (typeof reference)[number]) => c.next_token_ids.slice(c.prompt_token_ids.length - 1);

// The SDK against relay processes in each response-privacy mode (the default,
// rerandomize, is what sdk-relay.test.ts runs): the descriptor announces the
// mode, the SDK uploads a public key exactly when it is needed, and greedy
// tokens stay llama2.c's.
describe.each([
  ['off', []],
  // 1e-4 in output units: below the evaluation error's own scale, so tokens stay exact (docs/benchmarks.md).
  ['flood', ['--response-flood-sigma', '1e-4']],
])('SDK against a relay with --response-privacy %s', (mode, extra) => {
  let env: Awaited<ReturnType<typeof relayWithClient>>;
  afterAll(async () => {
    await env?.close();
  });

  it('announces the mode and generates the reference tokens', async () => {
    env = await relayWithClient(['--response-privacy', mode, ...extra]);
    const descriptor = (await (await fetch(`${env.relay.url}/v1/models/stories260K`)).json()) as { responsePrivacy?: { mode: string; floodSigma?: number } };
    expect(descriptor.responsePrivacy).toEqual(mode === 'flood' ? { mode, floodSigma: 1e-4 } : { mode });
    const ref = reference.find((c) => c.prompt === 'Once upon a time')!;
    const want = generatedOf(ref).slice(0, 40);
    const completion = await env.client.completions.create({ model: 'stories260K', prompt: ref.prompt, max_tokens: want.length });
    expect(completion.choices[0].token_ids).toEqual(want);
  });
});
