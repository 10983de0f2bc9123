import type { LlamaConfig, LlamaWeights } from './checkpoint.ts';

/**
 * The split-inference schedule: the model cut into server steps, each ONE
 * linear map y = W x (+ b) over weights the client never sees. Everything
 * between steps (RMS scalar, RoPE, attention, SiLU, residual adds, sampling)
 * needs no weights and runs on the client.
 *
 * RMSNorm gains are folded into the next matrix (W·diag(g)); the 1/rms factor is
 * a scalar, so the client divides the step output by rms(x) afterwards. Each
 * step also returns the residual-branch output (Wo·a or W2·h) so the client can
 * update x, and the next normalised matmul is composed through that update:
 * B·(x + R·u) = [B, B·R]·[x; u]. That gives 2 steps per layer plus the first.
 *
 *   embed        in: one-hot token (vocab)  out: [x; Wqkv_0·g·x]     (embedding on the relay)
 *   qkv          in: x = E[token] (dim)     out: Wqkv_0·g·x          (embedding on the client)
 *   attn-ffn l   in: [x; a]                 out: [Wo·a; W1·g·x'; W3·g·x']    x' = x + Wo·a
 *   ffn-qkv l    in: [x'; h]                out: [W2·h; Wqkv_{l+1}·g·x'']    x'' = x' + W2·h
 *   ffn-logits   in: [x'; h] (last layer)   out: [W2·h; Wcls·g_final·x'']
 *   ffn-out      in: [x'; h] (last layer)   out: W2·h           (classifier on the client)
 *
 * When the client holds the token-embedding table and the classifier is tied
 * to it (GPT-2, most small LLaMAs), the client computes the logits itself from
 * that table: the largest matrix of a large-vocabulary model leaves the relay.
 */
export type StepKind = 'embed' | 'qkv' | 'attn-ffn' | 'ffn-qkv' | 'ffn-logits' | 'ffn-out';

/**
 * Where the token-embedding lookup happens.
 * - 'relay': the first step takes a one-hot token, so the table stays on the
 *   relay; its upload and cost grow with the vocabulary (vocab / slots
 *   ciphertexts per token, vocab x (dim + qkv) weights).
 * - 'client': the client holds the table (the relay publishes it) and the
 *   first step maps x to q, k, v like any layer. A client could rebuild the
 *   table through 'relay' steps anyway, one query per maxVectors tokens.
 */
export type EmbeddingPlacement = 'relay' | 'client';

/**
 * The block the schedule follows. 'llama': RMSNorm, RoPE, a gated SiLU MLP, no
 * biases. 'gpt2': LayerNorm (its centering folded into the matrices), learned
 * positions, a GELU MLP, biases the client adds (see gpt2-schedule.ts); its
 * embedding is always on the client.
 */
export type SplitArchitecture = 'llama' | 'gpt2';

/**
 * Above this vocabulary the one-hot upload spans more than two ciphertexts
 * at N=4096 and its step outweighs a layer: the table moves to the client.
 */
export const RELAY_EMBEDDING_MAX_VOCAB = 4096;

/** 'auto' resolved for a config (see RELAY_EMBEDDING_MAX_VOCAB). */
export function embeddingPlacementFor(config: LlamaConfig, requested: EmbeddingPlacement | 'auto' = 'auto'): EmbeddingPlacement {
  if (requested !== 'auto') return requested;
  return config.vocabSize > RELAY_EMBEDDING_MAX_VOCAB ? 'client' : 'relay';
}

/** What a step is, without its weights. */
export interface StepShape {
  id: string;
  kind: StepKind;
  layer: number;
  dIn: number;
  dOut: number;
}

export interface ScheduleStep extends StepShape {
  /** Dense row-major [dOut][dIn]: composed in Float64, stored as asked (see ScheduleOptions.precision). */
  weight: Float64Array | Float32Array;
  bias?: Float64Array;
}

export interface Schedule {
  config: LlamaConfig;
  architecture: SplitArchitecture;
  embedding: EmbeddingPlacement;
  /**
   * What the client holds when it embeds tokens: the token-embedding table
   * [vocab][dim] (LLaMA), plus positions and published biases (GPT-2, see
   * gpt2ClientTableLayout). The relay serves it as is.
   */
  clientTable?: Float32Array;
  steps: ScheduleStep[];
}

/** The client computes the logits: it holds the embedding table and the classifier is that table. */
export function classifierOnClient(config: LlamaConfig, embedding: EmbeddingPlacement, architecture: SplitArchitecture = 'llama'): boolean {
  return embedding === 'client' && (architecture === 'gpt2' || config.sharedClassifier);
}

/** The step sequence for a config: 1 + 2 * nLayers steps, in execution order. */
export function scheduleLayout(config: LlamaConfig, embedding: EmbeddingPlacement = 'relay', architecture: SplitArchitecture = 'llama'): StepShape[] {
  const { dim, hiddenDim, kvDim, vocabSize, nLayers } = config;
  const qkv = dim + 2 * kvDim;
  // LLaMA's MLP has two input matrices (gate and up), GPT-2's one.
  const mlpIn = architecture === 'gpt2' ? hiddenDim : 2 * hiddenDim;
  const steps: StepShape[] = [embedding === 'client' ? { id: 'qkv0', kind: 'qkv', layer: 0, dIn: dim, dOut: qkv } : { id: 'embed+qkv0', kind: 'embed', layer: 0, dIn: vocabSize, dOut: dim + qkv }];
  for (let l = 0; l < nLayers; l++) {
    steps.push({ id: `attn-out+ffn-in${l}`, kind: 'attn-ffn', layer: l, dIn: 2 * dim, dOut: dim + mlpIn });
    if (l < nLayers - 1) {
      steps.push({ id: `ffn-out+qkv${l + 1}`, kind: 'ffn-qkv', layer: l, dIn: dim + hiddenDim, dOut: dim + qkv });
    } else if (classifierOnClient(config, embedding, architecture)) {
      steps.push({ id: 'ffn-out', kind: 'ffn-out', layer: l, dIn: dim + hiddenDim, dOut: dim });
    } else {
      steps.push({ id: 'ffn-out+logits', kind: 'ffn-logits', layer: l, dIn: dim + hiddenDim, dOut: dim + vocabSize });
    }
  }
  return steps;
}

/** Stack row-major matrices (all with `cols` columns), each times diag(gain), into Float64. */
function stackWithGain(parts: Float32Array[], cols: number, gain: Float32Array): Float64Array {
  let rows = 0;
  for (const p of parts) rows += p.length / cols;
  const out = new Float64Array(rows * cols);
  let o = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) out[o++] = p[i] * gain[i % cols];
  }
  return out;
}

/**
 * [[0, R], [B, B·R]] for residual update R (dim x k) and normalised matmul
 * B (m x dim): in [x; u], out [R·u; B·(x + R·u)].
 */
export function residualThenMatmul(dim: number, r: Float32Array, k: number, b: Float64Array): Float64Array {
  const m = b.length / dim;
  const dIn = dim + k;
  const w = new Float64Array((dim + m) * dIn);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < k; j++) w[i * dIn + dim + j] = r[i * k + j];
  }
  for (let i = 0; i < m; i++) {
    const row = (dim + i) * dIn;
    for (let t = 0; t < dim; t++) {
      const bit = b[i * dim + t];
      w[row + t] = bit;
      // accumulate B[i][t] * R[t][:] into the u-columns
      for (let j = 0; j < k; j++) w[row + dim + j] += bit * r[t * k + j];
    }
  }
  return w;
}

/** [0, R]: in [x; u], out R·u (the last residual update, when the client computes the logits). */
export function residualOnly(dim: number, r: Float32Array, k: number): Float64Array {
  const w = new Float64Array(dim * (dim + k));
  for (let i = 0; i < dim; i++) for (let j = 0; j < k; j++) w[i * (dim + k) + dim + j] = r[i * k + j];
  return w;
}

/** [E^T; B·E^T]: in one-hot token, out [x; B·x] with x the embedding row. */
function embedThenMatmul(dim: number, vocab: number, embedding: Float32Array, b: Float64Array): Float64Array {
  const m = b.length / dim;
  const w = new Float64Array((dim + m) * vocab);
  for (let t = 0; t < vocab; t++) {
    const e = t * dim;
    for (let i = 0; i < dim; i++) w[i * vocab + t] = embedding[e + i];
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += b[i * dim + c] * embedding[e + c];
      w[(dim + i) * vocab + t] = s;
    }
  }
  return w;
}

export interface ScheduleOptions {
  embedding?: EmbeddingPlacement | 'auto';
  /**
   * How the composed matrices are kept. 'float64' (default): the plaintext
   * twin and calibration. 'float32': a relay worker, which only encodes them
   * at CKKS weight scales of 2^~20, far coarser than float32's 2^-24; half the
   * memory (a GPT-2-size model's composed matrices are 1.7 GB in Float64).
   */
  precision?: 'float64' | 'float32';
  /** false: skip the client table (a relay worker evaluates matrices only). Default true. */
  clientTable?: boolean;
  /**
   * Called with each step as soon as its matrix is composed, in order, before
   * the next one is. A relay worker encodes the step there and may replace
   * `step.weight` by an empty array (see StepOperators.releaseEncodedWeights),
   * so the composed model never sits in memory whole beside its plaintexts.
   */
  onStep?: (step: ScheduleStep, index: number) => void;
}

/** Keeps a freshly composed matrix at the asked precision (the Float64 one is dropped at once). */
export function keepAt(precision: ScheduleOptions['precision']): (w: Float64Array) => Float64Array | Float32Array {
  return precision === 'float32' ? (w) => Float32Array.from(w) : (w) => w;
}

/** Steps in layout order, each kept at the asked precision and handed to `onStep` as it is added. */
export function stepCollector(layout: readonly StepShape[], options: Pick<ScheduleOptions, 'precision' | 'onStep'>): { steps: ScheduleStep[]; add(w: Float64Array): void } {
  const keep = keepAt(options.precision);
  const steps: ScheduleStep[] = [];
  return {
    steps,
    add(w) {
      const index = steps.length;
      const step: ScheduleStep = { ...layout[index], weight: keep(w) };
      steps.push(step);
      options.onStep?.(step, index);
    },
  };
}

/** Cuts a model into its split-inference steps (matrices composed in Float64 as above). */
export function buildSchedule(weights: LlamaWeights, options: ScheduleOptions = {}): Schedule {
  const config = weights.config;
  const embedding = embeddingPlacementFor(config, options.embedding);
  const { dim, hiddenDim, vocabSize, nLayers } = config;
  const layers = weights.layers;
  const qkvGained = (l: number): Float64Array => stackWithGain([layers[l].wq, layers[l].wk, layers[l].wv], dim, layers[l].rmsAtt);

  const layout = scheduleLayout(config, embedding);
  const { steps, add } = stepCollector(layout, options);
  add(embedding === 'client' ? qkvGained(0) : embedThenMatmul(dim, vocabSize, weights.tokenEmbedding, qkvGained(0)));
  for (let l = 0; l < nLayers; l++) {
    const ffnIn = stackWithGain([layers[l].w1, layers[l].w3], dim, layers[l].rmsFfn);
    add(residualThenMatmul(dim, layers[l].wo, dim, ffnIn));
    if (l === nLayers - 1 && layout[layout.length - 1].kind === 'ffn-out') {
      add(residualOnly(dim, layers[l].w2, hiddenDim));
      continue;
    }
    const next = l < nLayers - 1 ? qkvGained(l + 1) : stackWithGain([weights.wcls], dim, weights.rmsFinal);
    add(residualThenMatmul(dim, layers[l].w2, hiddenDim, next));
  }
  if (embedding !== 'client' || options.clientTable === false) return { config, architecture: 'llama', embedding, steps };
  // The client table: the token embeddings, then (classifier on the client) the final RMSNorm gain.
  const table = classifierOnClient(config, embedding) ? new Float32Array(vocabSize * dim + dim) : weights.tokenEmbedding;
  if (table !== weights.tokenEmbedding) {
    table.set(weights.tokenEmbedding);
    table.set(weights.rmsFinal, vocabSize * dim);
  }
  return { config, architecture: 'llama', embedding, clientTable: table, steps };
}
