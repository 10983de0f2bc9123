import type { TokenForwarder } from './generate.ts';
import { draftFromContext } from './prompt-lookup.ts';
import type { SpeculationController } from './speculation-controller.ts';
import type { SplitInferenceClient } from './split-client.ts';
import { BOS_ID } from './tokenizer.ts';

/** Tokens of one sequence at consecutive positions from startPos (<= the positions it has filled). */
export interface ForwardRequest {
  sequence: number;
  tokens: number[];
  startPos: number;
}

/**
 * Several sequences, each with its own KV cache, run through the model
 * together (one encrypted round trip per step for all of them).
 */
export interface BatchForwarder {
  readonly sequences: number;
  /** Logits per request, per token, in request order. */
  forward(requests: readonly ForwardRequest[], signal?: AbortSignal): Promise<Float32Array[][]>;
  /** Roll a sequence's KV cache back to its first `length` positions (drafts that were not accepted). */
  truncate(sequence: number, length: number): void;
}

/** Split inference: every sequence's tokens travel through each relay step in the same ciphertexts. */
export function splitBatchForwarder(client: SplitInferenceClient, sequences: number): BatchForwarder {
  const caches = Array.from({ length: sequences }, (_, i) => (i === 0 ? client.cache : client.createCache()));
  return {
    sequences,
    forward: (requests, signal) =>
      client.forwardBatch(
        requests.map((r) => ({ cache: caches[r.sequence], tokens: r.tokens, startPos: r.startPos })),
        signal,
      ),
    truncate: (sequence, length) => {
      caches[sequence].length = Math.min(caches[sequence].length, length);
    },
  };
}

/**
 * One model per sequence, called one after another (the Float32 reference
 * through `sequentialForwarder`). Such models overwrite position p's cache
 * entry whenever they run p and attend only to positions <= p, so rolling
 * back is bookkeeping: a later call may not start beyond what is valid.
 */
export function perSequenceForwarder(models: readonly TokenForwarder[]): BatchForwarder {
  const lengths = models.map(() => 0);
  return {
    sequences: models.length,
    async forward(requests) {
      const out: Float32Array[][] = [];
      for (const r of requests) {
        if (r.startPos > lengths[r.sequence]) throw new RangeError(`sequence ${r.sequence}: startPos ${r.startPos} is past its ${lengths[r.sequence]} valid positions`);
        out.push(await models[r.sequence].forward(r.tokens, r.startPos));
        lengths[r.sequence] = r.startPos + r.tokens.length;
      }
      return out;
    },
    truncate: (sequence, length) => {
      lengths[sequence] = Math.min(lengths[sequence], length);
    },
  };
}

/**
 * Prompt lookup finds fewer than `k` drafts, or none, depending on the text.
 * A pass still sends exactly k, padded with repeats of the last token, so
 * the number of vectors the relay sees depends on k alone, never on whether
 * the text repeats itself. A padding draft is verified like any other (and
 * is right now and then).
 */
function padDrafts(drafts: number[], k: number, context: readonly number[]): number[] {
  while (drafts.length < k) drafts.push(drafts.at(-1) ?? context.at(-1)!);
  return drafts;
}

export type DecodeFinish = 'length' | 'stop';

/** One generated token of one sequence, or (token undefined, finish 'stop') BOS ending it. */
export interface DecodeEvent {
  sequence: number;
  token?: number;
  finish: DecodeFinish | null;
}

/** What one forward pass carried and earned. */
export interface PassReport {
  sequences: number;
  vectors: number;
  drafts: number;
  acceptedDrafts: number;
  tokens: number;
  ms: number;
}

export interface DecodeStats {
  /** Forward passes, the prompt's prefill included. */
  passes: number;
  /** Sum over passes of the sequences each carried (tokens per pass = tokens / sequencePasses). */
  sequencePasses: number;
  /** Tokens generated over all sequences (BOS that ended one not counted). */
  tokens: number;
  /** Draft tokens sent to the model, and how many of them were accepted. */
  draftTokens: number;
  acceptedDraftTokens: number;
}

export interface DecodeOptions {
  /** The prompt, BOS first. */
  promptTokens: readonly number[];
  /** Tokens to generate per sequence (fewer when the model's seqLen runs out). */
  maxTokens: number;
  seqLen: number;
  /** One per sequence; greedy, or seeded temperature / top-p. */
  samplers: readonly { sample(logits: Float32Array): number }[];
  /** Speculative multi-token passes; absent: exactly one token per sequence per pass. */
  speculation?: SpeculationController;
  signal?: AbortSignal;
  onPass?: (pass: PassReport) => void;
  /** Clock for pass times (default performance.now). */
  now?: () => number;
  /** The token that ends a sequence (see stopTokenOf); default BOS_ID, llama2.c's convention. */
  stopTokenId?: number;
}

interface SequenceState {
  index: number;
  sampler: { sample(logits: Float32Array): number };
  /** Prompt and generated tokens; the last one has been sampled but not yet run through the model. */
  context: number[];
  produced: number;
  finish: DecodeFinish | null;
}

/**
 * The one generation path of SDK and CLI: prefill the prompt for every
 * sequence in one pass, then one pass per step of decoding. With speculation
 * each pass also carries drafts from prompt lookup (`draftFromContext`) as
 * extra vectors at the following positions; the longest prefix the model
 * agrees with is kept and the KV cache is rolled back past the rest.
 *
 * Verification samples the model's token at each drafted position with the
 * sequence's own sampler (one coin per token, as without speculation) and
 * accepts the draft when they agree. For a draft that is a single token d
 * this is exactly the speculative-sampling rule: d is accepted with
 * probability p(d), and on rejection the token is distributed as p with d
 * removed and renormalised (p being the sampler's final distribution after
 * temperature and top-p). Because the coins do not depend on the drafts, the
 * output is the same token for token as plain decoding with the same seed,
 * whatever k the controller picks; greedy is the case p = one-hot.
 */
export async function* decode(forwarder: BatchForwarder, o: DecodeOptions): AsyncGenerator<DecodeEvent, DecodeStats> {
  const prompt = [...o.promptTokens];
  if (prompt.length < 1) throw new RangeError('the prompt needs at least one token (BOS)');
  if (prompt.length > o.seqLen) throw new RangeError(`the prompt is ${prompt.length} tokens; the model holds ${o.seqLen}`);
  if (o.samplers.length < 1 || o.samplers.length > forwarder.sequences) {
    throw new RangeError(`${o.samplers.length} samplers for a forwarder of ${forwarder.sequences} sequences`);
  }
  const now = o.now ?? (() => performance.now());
  const stats: DecodeStats = { passes: 0, sequencePasses: 0, tokens: 0, draftTokens: 0, acceptedDraftTokens: 0 };
  // Token j (1-based) is sampled from position P-2+j's logits, which must be < seqLen.
  const budget = Math.max(0, Math.min(o.maxTokens, o.seqLen - prompt.length + 1));
  if (budget === 0) return stats;
  const sequences: SequenceState[] = o.samplers.map((sampler, index) => ({ index, sampler, context: [...prompt], produced: 0, finish: null }));

  const stopToken = o.stopTokenId ?? BOS_ID;
  const take = (s: SequenceState, token: number): DecodeEvent => {
    if (token === stopToken) {
      s.finish = 'stop';
      return { sequence: s.index, finish: 'stop' };
    }
    s.context.push(token);
    s.produced++;
    stats.tokens++;
    if (s.produced >= budget) s.finish = 'length';
    return { sequence: s.index, token, finish: s.finish };
  };

  o.signal?.throwIfAborted();
  let started = now();
  const prefill = await forwarder.forward(
    sequences.map((s) => ({ sequence: s.index, tokens: prompt, startPos: 0 })),
    o.signal,
  );
  stats.passes++;
  stats.sequencePasses += sequences.length;
  const first = sequences.map((s, i) => take(s, s.sampler.sample(prefill[i][prompt.length - 1])));
  o.onPass?.({ sequences: sequences.length, vectors: sequences.length * prompt.length, drafts: 0, acceptedDrafts: 0, tokens: stats.tokens, ms: now() - started });
  yield* first;

  for (;;) {
    const active = sequences.filter((s) => s.finish === null);
    if (active.length === 0) return stats;
    o.signal?.throwIfAborted();
    const spec = o.speculation;
    const k = spec?.draftsFor(active.length) ?? 0;
    const passes = active.map((s) => {
      // Position of the last (not yet run) token; a pass may fill positions up to pos + drafts.
      const pos = prompt.length - 1 + s.produced;
      const room = budget - s.produced - 1;
      // The proposal is made even at k = 0: comparing it with the token the model then
      // picks measures the acceptance rate for free, so k can rise again.
      const proposal = spec && room > 0 ? padDrafts(draftFromContext(s.context, Math.max(k, 1)), Math.max(k, 1), s.context) : [];
      const drafts = proposal.slice(0, Math.min(k, room));
      return { s, pos, proposal, drafts };
    });
    started = now();
    const logits = await forwarder.forward(
      passes.map((p) => ({ sequence: p.s.index, tokens: [p.s.context.at(-1)!, ...p.drafts], startPos: p.pos })),
      o.signal,
    );
    const tokensBefore = stats.tokens;
    const events: DecodeEvent[] = [];
    let drafts = 0;
    let acceptedDrafts = 0;
    passes.forEach((p, i) => {
      let accepted = 0;
      for (let j = 0; ; j++) {
        const token = p.s.sampler.sample(logits[i][j]);
        const draft = p.proposal[j];
        if (spec && draft !== undefined && j <= p.drafts.length) spec.recordDraft(token === draft);
        events.push(take(p.s, token));
        if (p.s.finish !== null || j >= p.drafts.length || token !== p.drafts[j]) break;
        accepted++;
      }
      // Valid now: the pass's first token and the accepted drafts; the rejected drafts' entries go.
      forwarder.truncate(p.s.index, p.pos + 1 + accepted);
      drafts += p.drafts.length;
      acceptedDrafts += accepted;
    });
    const ms = now() - started;
    const vectors = passes.reduce((n, p) => n + 1 + p.drafts.length, 0);
    spec?.recordPass(active.length, vectors, ms);
    stats.passes++;
    stats.sequencePasses += active.length;
    stats.draftTokens += drafts;
    stats.acceptedDraftTokens += acceptedDrafts;
    o.onPass?.({ sequences: active.length, vectors, drafts, acceptedDrafts, tokens: stats.tokens - tokensBefore, ms });
    // A pass may yield several tokens; an abort between them stops at once.
    for (const event of events) {
      o.signal?.throwIfAborted();
      yield event;
    }
  }
}
