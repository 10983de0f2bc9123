import type { Ciphertext, GaloisKeys } from 'node-seal';
import { PlanError } from '../errors/plan-error.ts';
import { WireFormatError } from '../errors/wire-format-error.ts';
import type { CkksClient } from '../client/ckks-client.ts';
import type { GiantPart, LinearOperator } from '../linear/linear-operator.ts';
import { planForVectors, type LinearPlan } from '../linear/plan.ts';
import { getPreset, type OperatorBounds, type Preset } from '../seal/presets.ts';
import { ciphertextSerializedBytes } from '../seal/seal-object-limits.ts';
import type { ResponseRerandomizer } from './response-privacy.ts';
import { ENVELOPE_HEADER_BYTES, decodeEnvelope, encodeEnvelope, type Envelope } from '../wire/envelope.ts';

/**
 * One round trip of a linear step: the client sends n input vectors, the
 * relay answers n output vectors. Both sides derive the same plan from
 * (preset, shape, n, allowed Galois steps), so a request needs no plan on the
 * wire: just the envelope with `vectors = n` and the ciphertext groups in
 * order (each group carries up to `plan.batch` vectors).
 */
export interface StepShape {
  readonly dOut: number;
  readonly dIn: number;
  /** Calibrated bounds; they set a flat preset's scales (see operatorScales). */
  readonly bounds?: OperatorBounds;
}

/** The plan both sides use for `vectors` vectors of a step, given the relay's published planning inputs. */
export function planStep(preset: Preset, shape: StepShape, vectors: number, galoisSteps?: readonly number[], parallelism = 1, maxBatch?: number, msPerUploadByte?: number): LinearPlan {
  if (!Number.isInteger(vectors) || vectors < 1) throw new PlanError('bad_count', 'a step request carries at least one vector', { got: vectors });
  return planForVectors(preset, shape.dOut, shape.dIn, vectors, {
    ...(galoisSteps ? { galoisSteps } : {}),
    ...(maxBatch ? { maxBatch } : {}),
    ...(msPerUploadByte === undefined ? {} : { msPerUploadByte }),
    ...(shape.bounds ? { bounds: shape.bounds } : {}),
    parallelism,
  });
}

/** Vectors carried by each ciphertext group of a request with `vectors` vectors. */
export function groupSizes(plan: LinearPlan, vectors: number): number[] {
  const sizes: number[] = [];
  for (let left = vectors; left > 0; left -= plan.batch) sizes.push(Math.min(plan.batch, left));
  return sizes;
}

/** Client: encrypt all vectors of one step request. */
export function encryptStepRequest(client: CkksClient, plan: LinearPlan, vectors: readonly ArrayLike<number>[]): Uint8Array {
  const items: Uint8Array[] = [];
  let offset = 0;
  for (const size of groupSizes(plan, vectors.length)) {
    items.push(...client.encryptVectors(plan, vectors.slice(offset, offset + size)));
    offset += size;
  }
  return encodeEnvelope({ kind: 'ciphertexts', presetId: plan.presetId, vectors: vectors.length, items });
}

/**
 * Client: the largest answer a relay may send to `vectors` vectors under
 * `plan` (one ciphertext per group and output tile, each at most the preset's
 * uncompressed top-level size), so a client never buffers more than that
 * before the envelope and SEAL checks look at it.
 */
export function maxStepResponseBytes(plan: LinearPlan, vectors: number): number {
  const preset = getPreset(plan.presetId);
  const items = groupSizes(plan, vectors).length * plan.outTiles;
  return ENVELOPE_HEADER_BYTES + plan.presetId.length + items * (4 + ciphertextSerializedBytes(preset, preset.dataPrimeBits.length));
}

/** Client: decrypt a step response into one output vector per input vector. */
export function decryptStepResponse(client: CkksClient, plan: LinearPlan, vectors: number, body: Uint8Array): Float64Array[] {
  const envelope = decodeEnvelope(body, { kind: 'ciphertexts', presetId: plan.presetId });
  const sizes = groupSizes(plan, vectors);
  if (envelope.vectors !== vectors || envelope.items.length !== sizes.length * plan.outTiles) {
    throw new WireFormatError('bad_count', 'response does not match the request', {
      expected: { vectors, items: sizes.length * plan.outTiles },
      got: { vectors: envelope.vectors, items: envelope.items.length },
    });
  }
  return sizes.flatMap((size, g) => client.decryptVectors(plan, envelope.items.slice(g * plan.outTiles, (g + 1) * plan.outTiles), size));
}

/** Relay: split a parsed request into its ciphertext groups, checking counts against the plan. */
export function splitRequestGroups(plan: LinearPlan, envelope: Envelope): { vectors: number; items: readonly Uint8Array[] }[] {
  const sizes = groupSizes(plan, envelope.vectors);
  const per = plan.cost.inputCiphertexts;
  if (envelope.items.length !== sizes.length * per) {
    throw new PlanError('bad_count', 'wrong number of ciphertexts for this step and vector count', { expected: sizes.length * per, got: envelope.items.length });
  }
  return sizes.map((vectors, g) => ({ vectors, items: envelope.items.slice(g * per, (g + 1) * per) }));
}

/**
 * Relay: evaluate one group with a prepared operator. Loads and validates
 * the ciphertexts (SEAL's check, then the plan's level/scale/size checks)
 * and returns serialized outputs; frees everything it made. With a
 * `rerandomizer` (the session's public key), every output ciphertext gets a
 * fresh encryption of zero or of flooding noise added before it is saved.
 */
export function evaluateGroup(
  operator: LinearOperator,
  keys: GaloisKeys,
  group: { vectors: number; items: readonly Uint8Array[] },
  outputTiles?: readonly number[],
  rerandomizer?: ResponseRerandomizer,
): Uint8Array[] {
  return onLoadedGroup(operator, group, (inputs) => operator.evaluate(inputs, group.vectors, keys, undefined, outputTiles), rerandomizer);
}

/**
 * Relay: one worker's share of a lone group's giant steps (see
 * `LinearPlan.giantParts`): loads and validates the inputs like
 * `evaluateGroup` and returns the part's partial sums serialized, one per
 * output tile. They stay inside the relay: only `evaluateGroupShared` makes
 * an answer of them.
 */
export function evaluateGroupPart(operator: LinearOperator, keys: GaloisKeys, group: { vectors: number; items: readonly Uint8Array[] }, giant: GiantPart): Uint8Array[] {
  return onLoadedGroup(operator, group, (inputs) => operator.evaluatePart(inputs, group.vectors, keys, giant));
}

/**
 * Relay: the answer of a lone group whose giant steps are shared by `parts`
 * workers (see `LinearPlan.giantParts`). This worker evaluates part 0, then
 * every other part that `claim(p)` hands it (nobody has started it: no
 * waiting on a worker that is busy elsewhere), and takes the rest from
 * `partial(p)`: another worker's serialized partial sums, one per output
 * tile. It adds them, folds and adds the bias: the same answer as
 * `evaluateGroup` (re-randomized the same way with a `rerandomizer`).
 */
export function evaluateGroupShared(
  operator: LinearOperator,
  keys: GaloisKeys,
  group: { vectors: number; items: readonly Uint8Array[] },
  parts: number,
  claim: (part: number) => boolean,
  partial: (part: number) => readonly Uint8Array[],
  rerandomizer?: ResponseRerandomizer,
): Uint8Array[] {
  const ctx = operator.ctx;
  return onLoadedGroup(
    operator,
    group,
    (inputs) => {
      const partials: Ciphertext[][] = [];
      try {
        for (let part = 0; part < parts; part++) {
          if (part === 0 || claim(part)) partials.push(operator.evaluatePart(inputs, group.vectors, keys, { part, parts }));
          else {
            const row: Ciphertext[] = [];
            partials.push(row);
            for (const bytes of partial(part)) row.push(ctx.loadCiphertext(bytes));
          }
        }
        return operator.combineParts(partials, group.vectors, keys);
      } finally {
        partials.flat().forEach((ct) => ct.delete());
      }
    },
    rerandomizer,
  );
}

/**
 * Load a group's ciphertexts (SEAL's check, then the plan's checks inside
 * `evaluate`), run `evaluate` on them, re-randomize what it returns when
 * asked and serialize it; frees every ciphertext either side made.
 */
function onLoadedGroup(
  operator: LinearOperator,
  group: { items: readonly Uint8Array[] },
  evaluate: (inputs: readonly Ciphertext[]) => Ciphertext[],
  rerandomizer?: ResponseRerandomizer,
): Uint8Array[] {
  const ctx = operator.ctx;
  const inputs: Ciphertext[] = [];
  try {
    for (const bytes of group.items) inputs.push(ctx.loadCiphertext(bytes));
    const outputs = evaluate(inputs);
    try {
      if (rerandomizer) for (const ct of outputs) rerandomizer.apply(ct);
      return outputs.map((ct) => ctx.saveCiphertext(ct));
    } finally {
      outputs.forEach((ct) => ct.delete());
    }
  } finally {
    inputs.forEach((ct) => ct.delete());
  }
}

/**
 * Relay: cut a plan's output tiles into at most `parts` contiguous runs, so
 * one group can be evaluated by several workers side by side.
 */
export function splitOutputTiles(plan: LinearPlan, parts: number): number[][] {
  const n = Math.max(1, Math.min(parts, plan.outTiles));
  const runs: number[][] = [];
  for (let k = 0; k < n; k++) {
    const from = Math.floor((k * plan.outTiles) / n);
    const to = Math.floor(((k + 1) * plan.outTiles) / n);
    runs.push(Array.from({ length: to - from }, (_, i) => from + i));
  }
  return runs;
}

/** Relay: the response envelope for evaluated groups, in request order. */
export function encodeStepResponse(plan: LinearPlan, vectors: number, groups: readonly Uint8Array[][]): Uint8Array {
  return encodeEnvelope({ kind: 'ciphertexts', presetId: plan.presetId, vectors, items: groups.flat() });
}
