import { BOS_ID, Sampler, SplitInferenceClient, TokenTextDecoder, type SplitKvCache } from '@fhe-llm/core';
import { COMPLETION_PARAMETERS, type CompletionParameterName } from './completion-parameters.ts';
import type { ModelSession } from './model-session.ts';
import type { Completion, CompletionChunk, CompletionParams, CompletionStream, FinishReason } from './types.ts';

interface Sequence {
  index: number;
  cache: SplitKvCache;
  sampler: Sampler;
  decoder: TokenTextDecoder;
  tokenIds: number[];
  text: string;
  last: number;
  logits?: Float32Array;
  finish: FinishReason | null;
}

function checkParams(p: CompletionParams): Required<Pick<CompletionParams, CompletionParameterName>> {
  const bad = (name: string, value: unknown) => new RangeError(`completions.create: ${name} must be ${value}`);
  if (typeof p.prompt !== 'string') throw bad('prompt', 'a string');
  const take = (name: CompletionParameterName): number => {
    const { default: fallback, rule, valid } = COMPLETION_PARAMETERS[name];
    const value = p[name] ?? fallback;
    if (typeof value !== 'number' || !valid(value)) throw bad(name, rule);
    return value;
  };
  return { max_tokens: take('max_tokens'), temperature: take('temperature'), top_p: take('top_p'), seed: take('seed'), n: take('n') };
}

/**
 * Generate `n` sequences token by token, all of them travelling through each
 * relay step together: the prompt is prefilled as one batch, then every step
 * carries one vector per unfinished sequence. Yields one chunk per new token.
 */
export async function* streamCompletion(session: ModelSession, params: CompletionParams): AsyncGenerator<CompletionChunk, Completion> {
  const { max_tokens, temperature, top_p, seed, n } = checkParams(params);
  const started = performance.now();
  const before = { ...session.counters };
  const id = `cmpl-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = session.descriptor.id;
  const split = new SplitInferenceClient(session.descriptor, session);
  const promptIds = session.tokenizer.encode(params.prompt, { bos: true, eos: false });
  const seqLen = session.descriptor.config.seqLen;
  if (promptIds.length > seqLen) throw new RangeError(`the prompt is ${promptIds.length} tokens; the model holds ${seqLen}`);
  const budget = Math.min(max_tokens, seqLen - promptIds.length + 1);
  const sequences: Sequence[] = Array.from({ length: n }, (_, index) => ({
    index,
    cache: split.createCache(),
    sampler: new Sampler({ temperature, topp: top_p, seed: seed + index }),
    decoder: new TokenTextDecoder(session.tokenizer, promptIds[promptIds.length - 1]),
    tokenIds: [],
    text: '',
    last: promptIds[promptIds.length - 1],
    finish: budget === 0 ? 'length' : null,
  }));
  const chunk = (s: Sequence, text: string, tokenId?: number): CompletionChunk => ({
    id,
    object: 'text_completion',
    created,
    model,
    choices: [{ index: s.index, text, finish_reason: s.finish, ...(tokenId === undefined ? {} : { token_id: tokenId }) }],
  });

  if (budget > 0) {
    const prefill = await split.forwardBatch(sequences.map((s) => ({ cache: s.cache, tokens: promptIds, startPos: 0 })), params.signal);
    sequences.forEach((s, i) => (s.logits = prefill[i][prefill[i].length - 1]));
  }
  while (sequences.some((s) => s.finish === null)) {
    const active = sequences.filter((s) => s.finish === null);
    for (const s of active) {
      const token = s.sampler.sample(s.logits!);
      if (token === BOS_ID) {
        s.finish = 'stop';
        const tail = s.decoder.flush();
        s.text += tail;
        yield chunk(s, tail);
        continue;
      }
      s.tokenIds.push(token);
      s.last = token;
      let piece = s.decoder.push(token);
      if (s.tokenIds.length >= budget) {
        s.finish = 'length';
        piece += s.decoder.flush();
      }
      s.text += piece;
      yield chunk(s, piece, token);
    }
    const next = sequences.filter((s) => s.finish === null);
    if (next.length === 0) break;
    const pos = promptIds.length - 1 + next[0].tokenIds.length;
    const logits = await split.forwardBatch(next.map((s) => ({ cache: s.cache, tokens: [s.last], startPos: pos })), params.signal);
    next.forEach((s, i) => (s.logits = logits[i][0]));
  }
  const completionTokens = sequences.reduce((sum, s) => sum + s.tokenIds.length, 0);
  return {
    id,
    object: 'text_completion',
    created,
    model,
    choices: sequences.map((s) => ({ index: s.index, text: s.text, finish_reason: s.finish ?? 'length', token_ids: s.tokenIds })),
    usage: { prompt_tokens: promptIds.length, completion_tokens: completionTokens, total_tokens: promptIds.length + completionTokens },
    fhe: {
      prompt_token_ids: promptIds,
      round_trips: session.counters.roundTrips - before.roundTrips,
      bytes_up: session.counters.bytesUp - before.bytesUp,
      bytes_down: session.counters.bytesDown - before.bytesDown,
      ms: performance.now() - started,
    },
  };
}

/** Run a stream to its end and return the completion it builds. */
export async function collectCompletion(stream: AsyncGenerator<CompletionChunk, Completion>): Promise<Completion> {
  for (;;) {
    const step = await stream.next();
    if (step.done) return step.value;
  }
}

/** Expose a generator as a CompletionStream: chunks by iteration, the final Completion as a promise. */
export function completionStream(generator: AsyncGenerator<CompletionChunk, Completion>): CompletionStream {
  let settle!: { resolve: (c: Completion) => void; reject: (e: unknown) => void };
  const completion = new Promise<Completion>((resolve, reject) => (settle = { resolve, reject }));
  completion.catch(() => undefined);
  let iterating = false;
  return {
    completion,
    async *[Symbol.asyncIterator]() {
      if (iterating) throw new Error('a completion stream can be iterated once');
      iterating = true;
      try {
        for (;;) {
          const step = await generator.next();
          if (step.done) return settle.resolve(step.value);
          yield step.value;
        }
      } catch (error) {
        settle.reject(error);
        throw error;
      } finally {
        await generator.return(undefined as never);
      }
    },
  };
}
