import { BOS_ID } from './tokenizer.ts';
import { describeModel } from './model-descriptor.ts';
import type { StepBounds } from './model-descriptor.ts';
import { PlaintextStepRunner } from './plaintext-runner.ts';
import { Sampler } from './sampler.ts';
import type { Schedule } from './schedule.ts';
import { SplitInferenceClient } from './split-client.ts';
import type { StepRunner } from './split-client.ts';

export interface CalibrationOptions {
  /** Multiplier applied to the largest magnitudes seen (default 1.5). */
  margin?: number;
  /** Positions run per sample, prompt included (default: the model's seqLen). */
  steps?: number;
  /** Sampler for the generated part (default greedy). */
  sampler?: { sample(logits: Float32Array): number };
  /** Called after each forward pass with positions run so far and in all (a large model takes minutes). */
  onProgress?: (done: number, total: number) => void;
}

export interface CalibrationResult {
  /** Per step: observed maxima times the margin; what goes in the descriptor. */
  bounds: StepBounds[];
  /** Per step: the raw largest |input| and |output| seen. */
  observed: StepBounds[];
}

function maxAbs(vectors: Float64Array[]): number {
  let m = 0;
  for (const v of vectors) for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

function maxNorm(vectors: Float64Array[]): number {
  let m = 0;
  for (const v of vectors) {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * v[i];
    m = Math.max(m, Math.sqrt(s));
  }
  return m;
}

/** Passes calls through and records the largest magnitudes per step. */
class RecordingRunner implements StepRunner {
  readonly observed: StepBounds[];
  readonly #inner: StepRunner;

  constructor(inner: StepRunner, stepCount: number) {
    this.#inner = inner;
    this.observed = Array.from({ length: stepCount }, () => ({ input: 0, output: 0, inputNorm: 0 }));
  }

  async runStep(stepIndex: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]> {
    const outputs = await this.#inner.runStep(stepIndex, inputs, signal);
    const seen = this.observed[stepIndex];
    seen.input = Math.max(seen.input, maxAbs(inputs));
    seen.output = Math.max(seen.output, maxAbs(outputs));
    seen.inputNorm = Math.max(seen.inputNorm ?? 0, maxNorm(inputs));
    return outputs;
  }
}

/**
 * Runs the split schedule in plaintext on sample prompts (token ids, BOS first),
 * generating up to `steps` positions each, and records per step the largest
 * |input| and |output|. These bound what the encrypted path must represent
 * (CKKS headroom) and let the client reject decrypted garbage.
 */
export async function calibrateBounds(schedule: Schedule, samples: readonly number[][], options: CalibrationOptions = {}): Promise<CalibrationResult> {
  if (samples.length === 0) throw new RangeError('calibration needs at least one sample prompt');
  const margin = options.margin ?? 1.5;
  const steps = Math.min(options.steps ?? schedule.config.seqLen, schedule.config.seqLen);
  const recorder = new RecordingRunner(new PlaintextStepRunner(schedule), schedule.steps.length);
  const client = new SplitInferenceClient(describeModel('calibration', schedule), recorder, { clientTable: schedule.clientTable });
  const sampler = options.sampler ?? new Sampler({ temperature: 0 });
  const total = samples.length * steps;
  // All samples advance together, one batch per position: each step's matrix
  // is then read once per position for all of them (a 100M-parameter model's
  // composed matrices are hundreds of MB), not once per sample.
  const sequences = samples.map((prompt) => ({
    cache: client.createCache(),
    tokens: prompt.slice(0, Math.max(1, steps)),
    pos: 0,
    last: new Float32Array(0) as Float32Array<ArrayBufferLike>,
    ended: false,
  }));
  const prefill = await client.forwardBatch(sequences.map((s) => ({ cache: s.cache, tokens: s.tokens, startPos: 0 })));
  sequences.forEach((s, i) => {
    s.pos = s.tokens.length;
    s.last = prefill[i][prefill[i].length - 1];
  });
  const progress = () =>
    options.onProgress?.(
      sequences.reduce((n, s) => n + (s.ended ? steps : Math.min(s.pos, steps)), 0),
      total,
    );
  progress();
  for (;;) {
    for (const s of sequences) {
      if (s.ended || s.pos >= steps) continue;
      const token = sampler.sample(s.last);
      // Like generate(): sampling BOS ends a sample.
      if (token === BOS_ID) s.ended = true;
      else s.tokens = [token];
    }
    const active = sequences.filter((s) => !s.ended && s.pos < steps);
    if (active.length === 0) break;
    const logits = await client.forwardBatch(active.map((s) => ({ cache: s.cache, tokens: s.tokens, startPos: s.pos })));
    active.forEach((s, i) => {
      s.last = logits[i][0];
      s.pos++;
    });
    progress();
  }
  options.onProgress?.(total, total);
  const observed = recorder.observed;
  return {
    observed,
    bounds: observed.map((o) => ({ input: o.input * margin, output: o.output * margin, inputNorm: (o.inputNorm ?? 0) * margin })),
  };
}
