import { Sampler, SplitInferenceClient, TokenTextDecoder, decode, splitBatchForwarder, stopTokenOf, type DecodeStats } from '@fhe-llm/core';
import { COMPLETION_PARAMETERS, type CompletionParameterName } from './completion-parameters.ts';
import type { ModelSession } from './model-session.ts';
import type { Completion, CompletionChunk, CompletionParams, CompletionStream, FinishReason } from './types.ts';

interface Sequence {
  index: number;
  decoder: TokenTextDecoder;
  tokenIds: number[];
  text: string;
  finish: FinishReason | null;
}

function checkParams(p: CompletionParams): Required<Pick<CompletionParams, CompletionParameterName | 'speculative'>> {
  const bad = (name: string, value: unknown) => new RangeError(`completions.create: ${name} must be ${value}`);
  if (typeof p.prompt !== 'string') throw bad('prompt', 'a string');
  const take = (name: CompletionParameterName): number => {
    const { default: fallback, rule, valid } = COMPLETION_PARAMETERS[name];
    const value = p[name] ?? fallback;
    if (typeof value !== 'number' || !valid(value)) throw bad(name, rule);
    return value;
  };
  const speculative = p.speculative ?? true;
  if (typeof speculative !== 'boolean') throw bad('speculative', 'a boolean');
  return { max_tokens: take('max_tokens'), temperature: take('temperature'), top_p: take('top_p'), seed: take('seed'), n: take('n'), speculative };
}

/**
 * CPU milliseconds of this whole process (all threads, the crypto worker
 * included) where the runtime reports them (Node); undefined in browsers.
 */
const processCpuMs: (() => number) | undefined =
  typeof process !== 'undefined' && typeof process.cpuUsage === 'function'
    ? () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      }
    : undefined;

/**
 * Generate `n` sequences with core's `decode`, all of them travelling through
 * each relay step together: the prompt is prefilled as one batch, then every
 * pass carries each unfinished sequence's current token and, when
 * speculative, its drafts. Yields one chunk per new token.
 */
export async function* streamCompletion(session: ModelSession, params: CompletionParams): AsyncGenerator<CompletionChunk, Completion> {
  const { max_tokens, temperature, top_p, seed, n, speculative } = checkParams(params);
  const started = performance.now();
  const cpuStarted = processCpuMs?.();
  const before = { ...session.counters };
  const id = `cmpl-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = session.descriptor.id;
  const split = new SplitInferenceClient(session.descriptor, session, { clientTable: session.clientTable });
  const promptIds = session.tokenizer.encode(params.prompt, { bos: true, eos: false });
  const seqLen = session.descriptor.config.seqLen;
  if (promptIds.length > seqLen) throw new RangeError(`the prompt is ${promptIds.length} tokens; the model holds ${seqLen}`);
  const sequences: Sequence[] = Array.from({ length: n }, (_, index) => ({
    index,
    decoder: new TokenTextDecoder(session.tokenizer, promptIds[promptIds.length - 1]),
    tokenIds: [],
    text: '',
    finish: null,
  }));
  const chunk = (s: Sequence, text: string, tokenId?: number): CompletionChunk => ({
    id,
    object: 'text_completion',
    created,
    model,
    choices: [{ index: s.index, text, finish_reason: s.finish, ...(tokenId === undefined ? {} : { token_id: tokenId }) }],
  });

  const decoding = decode(splitBatchForwarder(split, n), {
    promptTokens: promptIds,
    maxTokens: max_tokens,
    seqLen,
    samplers: sequences.map((s) => new Sampler({ temperature, topp: top_p, seed: seed + s.index })),
    speculation: speculative ? session.speculation : undefined,
    signal: params.signal,
    stopTokenId: stopTokenOf(session.tokenizer),
  });
  // Time this generator runs (not while the caller handles a chunk): the client's share of the wall clock.
  let activeMs = 0;
  let resumed = performance.now();
  let stats: DecodeStats;
  for (;;) {
    const step = await decoding.next();
    if (step.done) {
      stats = step.value;
      break;
    }
    const event = step.value;
    const s = sequences[event.sequence];
    let out: CompletionChunk;
    if (event.token === undefined) {
      s.finish = 'stop';
      const tail = s.decoder.flush();
      s.text += tail;
      out = chunk(s, tail);
    } else {
      s.tokenIds.push(event.token);
      let piece = s.decoder.push(event.token);
      if (event.finish === 'length') {
        s.finish = 'length';
        piece += s.decoder.flush();
      }
      s.text += piece;
      out = chunk(s, piece, event.token);
    }
    activeMs += performance.now() - resumed;
    yield out;
    resumed = performance.now();
  }
  activeMs += performance.now() - resumed;
  const c = session.counters;
  const cryptoMs = c.cryptoMs - before.cryptoMs;
  // Node: the process's own CPU clock. Browsers have none: the crypto worker's time plus this
  // thread's time outside the round trips (model arithmetic, sampling), which leaves out the
  // thread's share of HTTP and messaging.
  const computeMs = Math.max(0, activeMs - (c.stepMs - before.stepMs));
  const clientCpuMs = cpuStarted !== undefined ? processCpuMs!() - cpuStarted : cryptoMs + computeMs;
  const completionTokens = sequences.reduce((sum, s) => sum + s.tokenIds.length, 0);
  return {
    id,
    object: 'text_completion',
    created,
    model,
    choices: sequences.map((s) => ({ index: s.index, text: s.text, finish_reason: s.finish ?? 'length', token_ids: s.tokenIds })),
    usage: {
      prompt_tokens: promptIds.length,
      completion_tokens: completionTokens,
      total_tokens: promptIds.length + completionTokens,
      passes: stats.passes,
      tokens_per_pass: stats.sequencePasses ? Number((stats.tokens / stats.sequencePasses).toFixed(3)) : 0,
      draft_tokens: stats.draftTokens,
      accepted_draft_tokens: stats.acceptedDraftTokens,
    },
    fhe: {
      prompt_token_ids: promptIds,
      round_trips: c.roundTrips - before.roundTrips,
      bytes_up: c.bytesUp - before.bytesUp,
      bytes_down: c.bytesDown - before.bytesDown,
      ms: performance.now() - started,
      relay_cpu_ms: Math.round(c.relayMs - before.relayMs),
      client_cpu_ms: Math.round(clientCpuMs),
      client_crypto_ms: Math.round(cryptoMs),
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
