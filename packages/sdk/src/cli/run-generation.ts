import { decode, Sampler, SpeculationController, stopTokenOf, TokenTextDecoder, type BatchForwarder, type TextTokenizer } from '@fhe-llm/core';
import type { TrafficCounters } from '@fhe-llm/core/client';

/** The CLI's `--json` object; `token_ids` has the meaning of reference.json's `next_token_ids`. */
export interface GenerationReport {
  prompt_token_ids: number[];
  token_ids: number[];
  text: string;
  tokens_per_second: number;
  round_trips_per_token: number;
  bytes_up: number;
  bytes_down: number;
  /** Forward passes (prompt prefill included) and generated tokens per pass (1 without speculation). */
  passes: number;
  tokens_per_pass: number;
  draft_tokens: number;
  accepted_draft_tokens: number;
  /** Relay mode only: the relay's worker CPU and this client's CPU, per generated token. */
  relay_cpu_ms_per_token?: number;
  client_cpu_ms_per_token?: number;
}

export interface RunGenerationOptions {
  /** One sequence (`sequences` = 1). */
  forwarder: BatchForwarder;
  tokenizer: TextTokenizer;
  seqLen: number;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  /** Speculative multi-token passes (same tokens either way). */
  speculative: boolean;
  /** Traffic so far, read before and after (plaintext mode has none). */
  counters?: TrafficCounters;
  /** Receives each piece of text as soon as it is complete. */
  onText?: (text: string) => void;
  signal?: AbortSignal;
}

/**
 * The local modes' generation: core's `decode` (the SDK's path too), with
 * streaming text and the figures the CLI reports.
 */
export async function runGeneration(o: RunGenerationOptions): Promise<GenerationReport> {
  const promptIds = o.tokenizer.encode(o.prompt, { bos: true, eos: false });
  const decoder = new TokenTextDecoder(o.tokenizer, promptIds[promptIds.length - 1]);
  const generated: number[] = [];
  let firstTokenAt: number | undefined;
  let text = o.prompt;
  o.onText?.(o.prompt);
  const zero = { roundTrips: 0, bytesUp: 0, bytesDown: 0 };
  const before = { ...(o.counters ?? zero) };
  const started = performance.now();
  const decoding = decode(o.forwarder, {
    promptTokens: promptIds,
    maxTokens: o.maxTokens,
    seqLen: o.seqLen,
    samplers: [new Sampler({ temperature: o.temperature, topp: o.topP, seed: o.seed })],
    speculation: o.speculative ? new SpeculationController() : undefined,
    signal: o.signal,
    stopTokenId: stopTokenOf(o.tokenizer),
  });
  let step = await decoding.next();
  for (; !step.done; step = await decoding.next()) {
    if (step.value.token === undefined) continue; // BOS: the story ended
    firstTokenAt ??= performance.now();
    generated.push(step.value.token);
    const piece = decoder.push(step.value.token);
    text += piece;
    if (piece) o.onText?.(piece);
  }
  const stats = step.value;
  const tail = decoder.flush();
  text += tail;
  if (tail) o.onText?.(tail);
  // Throughput after the first token (which also pays for the prompt's prefill), as in relay mode.
  const seconds = (performance.now() - (firstTokenAt ?? started)) / 1000;
  const after = o.counters ?? zero;
  const sampled = generated.length;
  return {
    prompt_token_ids: promptIds,
    token_ids: [...promptIds.slice(1), ...generated],
    text,
    tokens_per_second: sampled > 1 ? (sampled - 1) / seconds : 0,
    round_trips_per_token: sampled ? (after.roundTrips - before.roundTrips) / sampled : 0,
    bytes_up: after.bytesUp - before.bytesUp,
    bytes_down: after.bytesDown - before.bytesDown,
    passes: stats.passes,
    tokens_per_pass: stats.sequencePasses ? stats.tokens / stats.sequencePasses : 0,
    draft_tokens: stats.draftTokens,
    accepted_draft_tokens: stats.acceptedDraftTokens,
  };
}
