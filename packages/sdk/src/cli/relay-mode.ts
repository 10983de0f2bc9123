import { homedir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../client.ts';
import type { ProgressEvent } from '../types.ts';
import type { GenerateArgs } from './generate-args.ts';
import type { GenerationReport } from './run-generation.ts';

/** Where the CLI keeps keys between runs, so a second run reuses them. */
export function defaultKeyDirectory(): string {
  return process.env.FHE_LLM_KEY_DIR ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'fhe-llm', 'keys');
}

/** A one-line progress bar on stderr, only when stderr is a terminal. */
function progressBar(): ((e: ProgressEvent) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (e) => {
    const width = 24;
    const filled = Math.round(e.progress * width);
    process.stderr.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${e.message}`);
    if (e.phase === 'ready') process.stderr.write('\n');
  };
}

/** `fhe-llm generate --relay URL`: the SDK in Node, keys in a directory, same report as the other modes. */
export async function generateThroughRelay(
  args: GenerateArgs,
  o: { prompt: string; maxTokens: number; temperature: number; topP: number; seed: number; speculative: boolean; onText?: (t: string) => void },
): Promise<GenerationReport> {
  const client = createClient({ relayUrl: args.relayUrl!, storage: { directory: args.keyDir ?? defaultKeyDirectory() }, onProgress: progressBar() });
  try {
    await client.ready;
    const stream = await client.completions.create({
      model: args.modelId,
      prompt: o.prompt,
      max_tokens: o.maxTokens,
      temperature: o.temperature,
      top_p: o.topP,
      seed: o.seed,
      speculative: o.speculative,
      stream: true,
    });
    o.onText?.(o.prompt);
    const started = performance.now();
    let firstTokenAt: number | undefined;
    for await (const chunk of stream) {
      firstTokenAt ??= performance.now();
      const text = chunk.choices[0].text;
      if (text) o.onText?.(text);
    }
    const c = await stream.completion;
    const choice = c.choices[0];
    // Throughput after the first token, which also pays for the prompt's prefill.
    const seconds = (performance.now() - (firstTokenAt ?? started)) / 1000;
    const perToken = (ms: number) => (choice.token_ids.length ? Number((ms / choice.token_ids.length).toFixed(1)) : 0);
    return {
      prompt_token_ids: c.fhe.prompt_token_ids,
      token_ids: [...c.fhe.prompt_token_ids.slice(1), ...choice.token_ids],
      text: o.prompt + choice.text,
      tokens_per_second: choice.token_ids.length > 1 ? (choice.token_ids.length - 1) / seconds : 0,
      round_trips_per_token: choice.token_ids.length ? c.fhe.round_trips / choice.token_ids.length : 0,
      bytes_up: c.fhe.bytes_up,
      bytes_down: c.fhe.bytes_down,
      passes: c.usage.passes,
      tokens_per_pass: c.usage.tokens_per_pass,
      draft_tokens: c.usage.draft_tokens,
      accepted_draft_tokens: c.usage.accepted_draft_tokens,
      relay_cpu_ms_per_token: perToken(c.fhe.relay_cpu_ms),
      client_cpu_ms_per_token: perToken(c.fhe.client_cpu_ms),
    };
  } finally {
    await client.close();
  }
}
