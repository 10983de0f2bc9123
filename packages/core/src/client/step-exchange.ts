import { WireFormatError } from '../errors/wire-format-error.ts';
import { planModelStep, type EncryptedModelDescriptor } from '../inference/encrypted-model.ts';
import type { LinearPlan } from '../linear/plan.ts';
import { groupSizes } from '../protocol/step-plan.ts';
import { getPreset } from '../seal/presets.ts';
import { ciphertextSerializedBytes } from '../seal/seal-object-limits.ts';
import { ENVELOPE_HEADER_BYTES, decodeEnvelope, encodeEnvelope } from '../wire/envelope.ts';
import type { CkksClient } from './ckks-client.ts';

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

/** Bytes and round trips a runner has moved, for the CLI's --json and the benchmarks. */
export interface TrafficCounters {
  roundTrips: number;
  bytesUp: number;
  bytesDown: number;
}

/**
 * Client: split a step's vectors into requests of at most `maxVectors`, run
 * each through `exchange` (bytes in, bytes out), and count traffic. Shared by
 * the in-process runner (`@fhe-llm/core/local`) and the HTTP runners.
 */
export async function runEncryptedStep(
  client: CkksClient,
  model: EncryptedModelDescriptor,
  stepIndex: number,
  inputs: readonly Float64Array[],
  exchange: (body: Uint8Array) => Promise<Uint8Array>,
  counters: TrafficCounters,
): Promise<Float64Array[]> {
  const outputs: Float64Array[] = [];
  for (let start = 0; start < inputs.length; start += model.maxVectors) {
    const part = inputs.slice(start, start + model.maxVectors);
    const plan = planModelStep(model, stepIndex, part.length);
    const body = encryptStepRequest(client, plan, part);
    const response = await exchange(body);
    counters.roundTrips++;
    counters.bytesUp += body.length;
    counters.bytesDown += response.length;
    outputs.push(...decryptStepResponse(client, plan, part.length, response));
  }
  return outputs;
}
