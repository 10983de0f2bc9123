import { BOS_ID } from './tokenizer.ts';

/**
 * Anything that turns tokens at consecutive positions into next-token logits
 * while keeping its own KV cache: SplitInferenceClient directly, a
 * Float32Transformer through `sequentialForwarder`.
 */
export interface TokenForwarder {
  forward(tokens: number[], startPos: number): Float32Array[] | Promise<Float32Array[]>;
}

/** Adapts a one-token-at-a-time model (Float32Transformer) to TokenForwarder. */
export function sequentialForwarder(model: { forward(token: number, pos: number): Float32Array }): TokenForwarder {
  return {
    forward: (tokens, startPos) => tokens.map((token, i) => model.forward(token, startPos + i)),
  };
}

export interface GenerateOptions {
  /** Positions to run, prompt included (llama2.c `-n`); keep it <= the model's seqLen. */
  steps: number;
  /**
   * true (default): the whole prompt goes through the model in one forward call.
   * false: one token per call, like llama2.c. The tokens produced are the same.
   */
  prefill?: boolean;
  /** Called for every token appended after the prompt's BOS, forced or sampled. */
  onToken?: (token: number, prevToken: number) => void;
  signal?: AbortSignal;
  /** The token that ends the sequence (see stopTokenOf); default BOS_ID, llama2.c's convention. */
  stopTokenId?: number;
}

export interface GenerationResult {
  /** For each position run, the token that follows it (forced prompt tokens, then sampled). */
  nextTokenIds: number[];
  /** true when sampling produced BOS, which ends the sequence (BOS is not in nextTokenIds). */
  stoppedAtBos: boolean;
}

/**
 * llama2.c generate(): position p gets prompt[p+1] while the prompt lasts, then
 * a sampled token; stops after `steps` positions or when BOS is sampled.
 */
export async function generate(model: TokenForwarder, sampler: { sample(logits: Float32Array): number }, promptTokens: readonly number[], options: GenerateOptions): Promise<GenerationResult> {
  if (promptTokens.length < 1) throw new RangeError('the prompt needs at least one token (BOS)');
  const steps = options.steps;
  const nextTokenIds: number[] = [];
  const emit = (token: number, prev: number): void => {
    nextTokenIds.push(token);
    options.onToken?.(token, prev);
  };
  if (steps <= 0) return { nextTokenIds, stoppedAtBos: false };

  // Prompt positions that run: all of them, unless `steps` cuts the prompt short.
  const promptRun = promptTokens.slice(0, Math.min(promptTokens.length, steps));
  let lastLogits: Float32Array;
  if (options.prefill ?? true) {
    options.signal?.throwIfAborted();
    const logits = await model.forward(promptRun, 0);
    lastLogits = logits[logits.length - 1];
  } else {
    for (let pos = 0; ; pos++) {
      options.signal?.throwIfAborted();
      lastLogits = (await model.forward([promptRun[pos]], pos))[0];
      if (pos === promptRun.length - 1) break;
    }
  }
  // Forced tokens; like llama2.c, a BOS inside the prompt ends the sequence too.
  const stopToken = options.stopTokenId ?? BOS_ID;
  const forcedEnd = Math.min(promptTokens.length - 1, steps);
  for (let pos = 1; pos <= forcedEnd; pos++) {
    if (promptTokens[pos] === stopToken) return { nextTokenIds, stoppedAtBos: true };
    emit(promptTokens[pos], promptTokens[pos - 1]);
  }
  // steps ended inside the prompt: nothing is sampled.
  if (promptRun.length < promptTokens.length) return { nextTokenIds, stoppedAtBos: false };

  let token = promptRun[promptRun.length - 1];
  for (let pos = promptRun.length - 1; pos < steps; pos++) {
    if (pos > promptRun.length - 1) {
      options.signal?.throwIfAborted();
      lastLogits = (await model.forward([token], pos))[0];
    }
    const next = sampler.sample(lastLogits);
    if (next === stopToken) return { nextTokenIds, stoppedAtBos: true };
    emit(next, token);
    token = next;
  }
  return { nextTokenIds, stoppedAtBos: false };
}
