import type { LlamaConfig } from './checkpoint.ts';
import { clientBlockFor, type ClientBlock } from './client-block.ts';
import { embeddingOf, validateModelDescriptor } from './model-descriptor.ts';
import type { ModelDescriptor } from './model-descriptor.ts';
import { PrecisionError } from './precision-error.ts';
import { SplitKvCache } from './split-kv-cache.ts';
import { StepOutputError } from './step-output-error.ts';
import { applyRope, attend } from './weightless-ops.ts';

/**
 * Evaluates one server step y = W x (+ b) for a batch of input vectors and
 * returns one output vector per input, in order. Implementations: plaintext
 * (PlaintextStepRunner), or encrypt -> relay -> decrypt.
 */
export interface StepRunner {
  runStep(stepIndex: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]>;
}

export interface SplitClientOptions {
  /** A step output beyond factor x its calibrated output bound is rejected (default 4). */
  implausibleFactor?: number;
  /** The client table the relay publishes (see Schedule.clientTable); required when the descriptor's embedding is 'client'. */
  clientTable?: Float32Array;
}

/** Tokens of one sequence for a batched forward call. */
export interface SequenceInput {
  cache: SplitKvCache;
  tokens: number[];
  startPos: number;
}

/** Per-token activations carried between steps, all client-side. */
interface Row {
  cache: SplitKvCache;
  pos: number;
  token: number;
  x: Float64Array; // residual stream
  q: Float64Array; // query of the current layer (RoPE applied)
  a: Float64Array; // attention output of the current layer
  h: Float64Array; // silu(w1 x) * (w3 x) of the current layer
}

/**
 * The browser side of split inference. It holds tokens, KV caches and all
 * activations and only ever sees the descriptor (no weights); each server step
 * goes through the StepRunner. One forward call costs 2 * nLayers + 1 round
 * trips whatever the number of tokens: all tokens (a prompt prefill, or
 * several sequences) travel through each step as one batch.
 */
export class SplitInferenceClient {
  readonly descriptor: ModelDescriptor;
  /** The default sequence used by forward(). */
  readonly cache: SplitKvCache;
  /** runStep calls made so far. */
  roundTrips = 0;
  readonly #runner: StepRunner;
  readonly #config: LlamaConfig;
  readonly #factor: number;
  readonly #embedsTokens: boolean;
  readonly #block: ClientBlock;

  constructor(descriptor: ModelDescriptor, runner: StepRunner, options: SplitClientOptions = {}) {
    this.descriptor = validateModelDescriptor(descriptor);
    this.#config = descriptor.config;
    this.#runner = runner;
    this.#factor = options.implausibleFactor ?? 4;
    this.#embedsTokens = embeddingOf(descriptor) === 'client';
    this.#block = clientBlockFor(this.descriptor, options.clientTable);
    this.cache = this.createCache();
  }

  /** A fresh KV cache for another sequence (see forwardBatch). */
  createCache(): SplitKvCache {
    return new SplitKvCache(this.#config);
  }

  /** Forgets the default sequence. */
  reset(): void {
    this.cache.clear();
  }

  /** Logits for each token of the default sequence, tokens at positions startPos, startPos+1, ... */
  async forward(tokens: number[], startPos: number, signal?: AbortSignal): Promise<Float32Array[]> {
    return (await this.forwardBatch([{ cache: this.cache, tokens, startPos }], signal))[0];
  }

  /**
   * Several sequences at once (each with its own cache); attention is causal
   * within each sequence. Returns the logits per sequence, per token.
   */
  async forwardBatch(sequences: SequenceInput[], signal?: AbortSignal): Promise<Float32Array[][]> {
    const rows = this.#rowsFor(sequences);
    if (rows.length === 0) return sequences.map(() => []);
    const { dim, nLayers } = this.#config;
    const block = this.#block;

    let out: Float64Array[];
    if (this.#embedsTokens) {
      // The client's own lookup: step 0 is x -> [q; k; v], no update part.
      for (const r of rows) block.embed(r.x, r.token, r.pos);
      out = await this.#run(
        0,
        rows.map((r) => Float64Array.from(r.x)),
        signal,
      );
      rows.forEach((r, i) => this.#takeQkv(r, out[i], 0, 0));
    } else {
      out = await this.#run(
        0,
        rows.map((r) => this.#oneHot(r.token)),
        signal,
      );
      rows.forEach((r, i) => {
        r.x.set(out[i].subarray(0, dim));
        this.#takeQkv(r, out[i], 0);
      });
    }
    this.#attendAll(rows, 0);

    const logits: Float32Array[] = [];
    for (let l = 0; l < nLayers; l++) {
      // Residual biases (GPT-2) join x before it goes out, so the step's composed matrix sees the updated x.
      for (const r of rows) block.addResidualBias(r.x, l, 'attn');
      out = await this.#run(
        1 + 2 * l,
        rows.map((r) => concat(r.x, r.a)),
        signal,
      );
      rows.forEach((r, i) => {
        const o = out[i];
        for (let j = 0; j < dim; j++) r.x[j] += o[j];
        block.mlp(r.h, o, dim, block.norm(r.x), l);
      });

      for (const r of rows) block.addResidualBias(r.x, l, 'mlp');
      out = await this.#run(
        2 + 2 * l,
        rows.map((r) => concat(r.x, r.h)),
        signal,
      );
      rows.forEach((r, i) => {
        const o = out[i];
        for (let j = 0; j < dim; j++) r.x[j] += o[j];
        if (l < nLayers - 1) {
          this.#takeQkv(r, o, l + 1);
        } else {
          // The client's own tied head, or the relay's classifier rows divided by the norm.
          if (block.classify) logits.push(block.classify(r.x));
          else {
            const s = block.norm(r.x);
            logits.push(Float32Array.from(o.subarray(dim), (v) => v / s));
          }
        }
      });
      if (l < nLayers - 1) this.#attendAll(rows, l + 1);
    }

    for (const seq of sequences) seq.cache.length = seq.startPos + seq.tokens.length;
    let next = 0;
    return sequences.map((seq) => logits.slice(next, (next += seq.tokens.length)));
  }

  #rowsFor(sequences: SequenceInput[]): Row[] {
    const { dim, hiddenDim, kvDim, seqLen, vocabSize, nLayers } = this.#config;
    const seen = new Set<SplitKvCache>();
    const rows: Row[] = [];
    for (const { cache, tokens, startPos } of sequences) {
      if (seen.has(cache)) throw new RangeError('the same cache appears twice in one batch');
      seen.add(cache);
      if (cache.kvDim !== kvDim || cache.seqLen !== seqLen || cache.keys.length !== nLayers * seqLen * kvDim) {
        throw new RangeError('cache does not belong to this model (create it with createCache)');
      }
      if (!Number.isInteger(startPos) || startPos < 0 || startPos > cache.length) {
        throw new RangeError(`startPos ${startPos} must be in [0, ${cache.length}] (positions filled so far)`);
      }
      if (startPos + tokens.length > seqLen) {
        throw new RangeError(`positions up to ${startPos + tokens.length - 1} exceed seqLen ${seqLen}`);
      }
      tokens.forEach((token, i) => {
        if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
          throw new RangeError(`token ${token} is outside the vocabulary [0, ${vocabSize})`);
        }
        rows.push({
          cache,
          pos: startPos + i,
          token,
          x: new Float64Array(dim),
          q: new Float64Array(dim),
          a: new Float64Array(dim),
          h: new Float64Array(hiddenDim),
        });
      });
    }
    // Entries from startPos on are about to be overwritten; if this call fails
    // half-way they must not count as valid.
    for (const { cache, startPos } of sequences) cache.length = Math.min(cache.length, startPos);
    return rows;
  }

  #oneHot(token: number): Float64Array {
    const v = new Float64Array(this.#config.vocabSize);
    v[token] = 1;
    return v;
  }

  /**
   * From a step output [update (dim); q; k; v] (q at `qAt`, dim unless the
   * step has no update part) with r.x up to date: normalise, RoPE, cache k and v.
   */
  #takeQkv(r: Row, out: Float64Array, layer: number, qAt = this.#config.dim): void {
    const { dim, kvDim, headSize } = this.#config;
    const s = this.#block.norm(r.x);
    const b = this.#block.qkvBias(layer);
    const bias = (i: number) => (b ? b[i] : 0);
    const k = new Float64Array(kvDim);
    for (let j = 0; j < dim; j++) r.q[j] = out[qAt + j] / s + bias(j);
    for (let j = 0; j < kvDim; j++) k[j] = out[qAt + dim + j] / s + bias(dim + j);
    if (this.#block.rope) applyRope(r.q, k, r.pos, headSize, this.descriptor.ropeTheta);
    const at = r.cache.offset(layer, r.pos);
    r.cache.keys.set(k, at);
    for (let j = 0; j < kvDim; j++) r.cache.values[at + j] = out[qAt + dim + kvDim + j] / s + bias(dim + kvDim + j);
  }

  /** After every row wrote its k/v for this layer, so prompt tokens see each other. */
  #attendAll(rows: Row[], layer: number): void {
    for (const r of rows) {
      const base = r.cache.offset(layer, 0);
      attend(r.a, r.q, r.cache.keys, r.cache.values, base, r.pos, this.#config);
    }
  }

  async #run(stepIndex: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]> {
    signal?.throwIfAborted();
    const step = this.descriptor.steps[stepIndex];
    this.roundTrips++;
    const outputs = await this.#runner.runStep(stepIndex, inputs, signal);
    if (outputs.length !== inputs.length) {
      throw new StepOutputError('wrong_count', step.id, inputs.length, outputs.length);
    }
    const limit = this.#factor * step.bounds.output;
    outputs.forEach((out, row) => {
      if (out.length !== step.dOut) throw new StepOutputError('wrong_length', step.id, step.dOut, out.length);
      for (let i = 0; i < out.length; i++) {
        const v = out[i];
        if (!Number.isFinite(v) || Math.abs(v) > limit) {
          throw new PrecisionError(step.id, stepIndex, row, i, v, limit);
        }
      }
    });
    return outputs;
  }
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
