import { generate, Sampler, TokenTextDecoder, type TextTokenizer, type TokenForwarder, type TrafficCounters } from '@fhe-llm/core';

/** The CLI's `--json` object; `token_ids` has the meaning of reference.json's `next_token_ids`. */
export interface GenerationReport {
  prompt_token_ids: number[];
  token_ids: number[];
  text: string;
  tokens_per_second: number;
  round_trips_per_token: number;
  bytes_up: number;
  bytes_down: number;
}

export interface RunGenerationOptions {
  forwarder: TokenForwarder;
  tokenizer: TextTokenizer;
  seqLen: number;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  /** Traffic so far, read before and after (plaintext mode has none). */
  counters?: TrafficCounters;
  /** Receives each piece of text as soon as it is complete. */
  onText?: (text: string) => void;
  signal?: AbortSignal;
}

/**
 * llama2.c-style generation (prompt prefilled in one batch, then one token
 * per forward pass) with streaming text and the figures the CLI reports.
 */
export async function runGeneration(o: RunGenerationOptions): Promise<GenerationReport> {
  const promptIds = o.tokenizer.encode(o.prompt, { bos: true, eos: false });
  const steps = Math.min(promptIds.length - 1 + o.maxTokens, o.seqLen);
  const sampler = new Sampler({ temperature: o.temperature, topp: o.topP, seed: o.seed });
  const decoder = new TokenTextDecoder(o.tokenizer, promptIds[promptIds.length - 1]);
  const forced = promptIds.length - 1;
  let emitted = 0;
  let firstTokenAt: number | undefined;
  let text = o.prompt;
  o.onText?.(o.prompt);
  const zero = { roundTrips: 0, bytesUp: 0, bytesDown: 0 };
  const before = { ...(o.counters ?? zero) };
  const started = performance.now();
  const result = await generate(o.forwarder, sampler, promptIds, {
    steps,
    signal: o.signal,
    onToken: (token) => {
      // The first `forced` tokens are the prompt's own; only sampled ones are new text.
      if (emitted++ < forced) return;
      firstTokenAt ??= performance.now();
      const piece = decoder.push(token);
      text += piece;
      if (piece) o.onText?.(piece);
    },
  });
  const tail = decoder.flush();
  text += tail;
  if (tail) o.onText?.(tail);
  // Throughput after the first token (which also pays for the prompt's prefill), as in relay mode.
  const seconds = (performance.now() - (firstTokenAt ?? started)) / 1000;
  const after = o.counters ?? zero;
  const sampled = Math.max(0, result.nextTokenIds.length - forced);
  return {
    prompt_token_ids: promptIds,
    token_ids: result.nextTokenIds,
    text,
    tokens_per_second: sampled > 1 ? (sampled - 1) / seconds : 0,
    round_trips_per_token: sampled ? (after.roundTrips - before.roundTrips) / sampled : 0,
    bytes_up: after.bytesUp - before.bytesUp,
    bytes_down: after.bytesDown - before.bytesDown,
  };
}
