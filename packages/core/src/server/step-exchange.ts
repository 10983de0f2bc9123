import type { Ciphertext, GaloisKeys } from 'node-seal';
import { PlanError } from '../errors/plan-error.ts';
import type { GiantPart, LinearOperator } from '../linear/linear-operator.ts';
import type { LinearPlan } from '../linear/plan.ts';
import { groupSizes } from '../protocol/step-plan.ts';
import { encodeEnvelope, type Envelope } from '../wire/envelope.ts';
import type { ResponseRerandomizer } from './response-rerandomizer.ts';

// The relay half of a step round trip (the shared plan: protocol/step-plan.ts;
// the client half: client/step-exchange.ts).

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
