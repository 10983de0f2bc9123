import { configFromHeader, LLAMA2C_NORM_EPS, LLAMA2C_ROPE_THETA } from './checkpoint.ts';
import type { LlamaConfig } from './checkpoint.ts';
import { ModelFormatError } from './model-format-error.ts';
import { classifierOnClient, scheduleLayout } from './schedule.ts';
import type { EmbeddingPlacement, Schedule, SplitArchitecture, StepShape } from './schedule.ts';
import { gpt2ClientTableLayout } from './gpt2-schedule.ts';

export const MODEL_DESCRIPTOR_FORMAT = 'fhe-llm/split-llama/1';

/** Largest magnitudes expected in a step's input and output vectors (calibrated, margin included). */
export interface StepBounds {
  input: number;
  output: number;
  /** Largest L2 norm of an input vector (calibrated, margin included). */
  inputNorm?: number;
  /** Largest L2 norm of a row of the step's matrix (exact; set by describeModel). */
  rowNorm?: number;
}

/** Largest L2 norm of a row of a row-major [rows][cols] matrix. */
export function maxRowNorm(weight: ArrayLike<number>, cols: number): number {
  let max = 0;
  for (let r = 0; r * cols < weight.length; r++) {
    let s = 0;
    for (let c = r * cols; c < (r + 1) * cols; c++) s += weight[c] * weight[c];
    max = Math.max(max, s);
  }
  return Math.sqrt(max);
}

export interface StepDescriptor extends StepShape {
  bounds: StepBounds;
}

/**
 * Everything a client needs to drive split inference, and no weights: the
 * relay publishes it (JSON) beside the tokenizer file.
 */
export interface ModelDescriptor {
  format: typeof MODEL_DESCRIPTOR_FORMAT;
  id: string;
  config: LlamaConfig;
  /** RMSNorm epsilon (llama2.c: 1e-5). */
  normEps: number;
  /** RoPE base (llama2.c: 10000). */
  ropeTheta: number;
  /**
   * Where the token embedding is looked up. With 'client', the relay serves
   * the table (GET /v1/models/{id}/client-table, float32 [vocab][dim]) and step 0
   * maps x to q, k, v. Absent in descriptors from before it existed: 'relay'.
   */
  embedding?: EmbeddingPlacement;
  /** The block the client runs between steps (see SplitArchitecture). Absent: 'llama'. */
  architecture?: SplitArchitecture;
  steps: StepDescriptor[];
}

/** The descriptor's architecture, 'llama' when absent. */
export function architectureOf(descriptor: Pick<ModelDescriptor, 'architecture'>): SplitArchitecture {
  return descriptor.architecture ?? 'llama';
}

/** Float32 values of the client table a descriptor implies (0 when the relay embeds tokens). */
export function clientTableLength(descriptor: Pick<ModelDescriptor, 'embedding' | 'architecture' | 'config'>): number {
  if (embeddingOf(descriptor) !== 'client') return 0;
  if (architectureOf(descriptor) === 'gpt2') return gpt2ClientTableLayout(descriptor.config).length;
  const { vocabSize, dim } = descriptor.config;
  // The token embeddings, then the final RMSNorm gain when the client computes the logits.
  return vocabSize * dim + (classifierOnClient(descriptor.config, 'client') ? dim : 0);
}

/** The descriptor's embedding placement, 'relay' when absent. */
export function embeddingOf(descriptor: Pick<ModelDescriptor, 'embedding'>): EmbeddingPlacement {
  return descriptor.embedding ?? 'relay';
}

/** Bounds that check nothing; for calibration runs. Infinity does not survive JSON. */
export const UNBOUNDED: StepBounds = Object.freeze({ input: Infinity, output: Infinity });

export function describeModel(id: string, schedule: Schedule, bounds?: readonly StepBounds[]): ModelDescriptor {
  if (bounds !== undefined && bounds.length !== schedule.steps.length) {
    throw new RangeError(`${bounds.length} bounds for ${schedule.steps.length} steps`);
  }
  return {
    format: MODEL_DESCRIPTOR_FORMAT,
    id,
    config: { ...schedule.config },
    normEps: schedule.config.normEps ?? LLAMA2C_NORM_EPS,
    ropeTheta: schedule.config.ropeTheta ?? LLAMA2C_ROPE_THETA,
    embedding: schedule.embedding,
    architecture: schedule.architecture,
    steps: schedule.steps.map(({ id: stepId, kind, layer, dIn, dOut, weight }, i) => ({
      id: stepId,
      kind,
      layer,
      dIn,
      dOut,
      // Only calibrated bounds get the weight norm: with it a flat preset balances its scales.
      bounds: bounds ? { ...bounds[i], rowNorm: maxRowNorm(weight, dIn) } : { ...UNBOUNDED },
    })),
  };
}

function invalid(message: string): ModelFormatError {
  return new ModelFormatError('bad_descriptor', `model descriptor: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Checks a descriptor (typically parsed from JSON) against the layout its config
 * implies and returns it typed; throws ModelFormatError 'bad_descriptor'.
 */
export function validateModelDescriptor(value: unknown): ModelDescriptor {
  if (!isRecord(value)) throw invalid('not an object');
  if (value.format !== MODEL_DESCRIPTOR_FORMAT) {
    throw invalid(`format ${JSON.stringify(value.format)}, expected ${MODEL_DESCRIPTOR_FORMAT}`);
  }
  if (typeof value.id !== 'string') throw invalid('id must be a string');
  for (const key of ['normEps', 'ropeTheta'] as const) {
    const v = value[key];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw invalid(`${key} must be a positive number`);
  }
  const c = value.config;
  if (!isRecord(c)) throw invalid('config missing');
  let derived: LlamaConfig;
  try {
    const vocab = c.sharedClassifier === false ? -Number(c.vocabSize) : Number(c.vocabSize);
    derived = configFromHeader([c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, vocab, c.seqLen].map(Number));
  } catch (e) {
    throw invalid(`config: ${(e as Error).message}`);
  }
  for (const [key, v] of Object.entries(derived)) {
    if (c[key] !== v) throw invalid(`config.${key} is ${JSON.stringify(c[key])}, expected ${JSON.stringify(v)}`);
  }

  if (value.embedding !== undefined && value.embedding !== 'relay' && value.embedding !== 'client') {
    throw invalid(`embedding is ${JSON.stringify(value.embedding)}, expected "relay" or "client"`);
  }
  if (value.architecture !== undefined && value.architecture !== 'llama' && value.architecture !== 'gpt2') {
    throw invalid(`architecture is ${JSON.stringify(value.architecture)}, expected "llama" or "gpt2"`);
  }
  if (value.architecture === 'gpt2' && value.embedding !== 'client') throw invalid('a gpt2 descriptor needs "embedding": "client" (positions are looked up by the client)');
  const layout = scheduleLayout(derived, value.embedding ?? 'relay', value.architecture ?? 'llama');
  const steps = value.steps;
  if (!Array.isArray(steps) || steps.length !== layout.length) {
    throw new ModelFormatError(
      'bad_descriptor',
      `model descriptor: expected ${layout.length} steps, got ${Array.isArray(steps) ? steps.length : 'none'}`,
      layout.length,
      Array.isArray(steps) ? steps.length : undefined,
    );
  }
  layout.forEach((expected, i) => {
    const step: unknown = steps[i];
    if (!isRecord(step)) throw invalid(`step ${i} is not an object`);
    if (typeof step.id !== 'string') throw invalid(`step ${i} id must be a string`);
    for (const key of ['kind', 'layer', 'dIn', 'dOut'] as const) {
      if (step[key] !== expected[key]) {
        throw invalid(`step ${i} (${step.id}) ${key} is ${JSON.stringify(step[key])}, expected ${expected[key]}`);
      }
    }
    const b = step.bounds;
    if (!isRecord(b) || !(Number(b.input) > 0) || !(Number(b.output) > 0) || typeof b.input !== 'number' || typeof b.output !== 'number') {
      throw invalid(`step ${i} (${step.id}) needs positive numeric bounds {input, output}`);
    }
    for (const key of ['inputNorm', 'rowNorm'] as const) {
      if (b[key] !== undefined && !(typeof b[key] === 'number' && b[key] > 0 && Number.isFinite(b[key]))) {
        throw invalid(`step ${i} (${step.id}) bounds.${key} must be a positive finite number when present`);
      }
    }
  });
  return value as unknown as ModelDescriptor;
}
