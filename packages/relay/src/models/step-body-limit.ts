import { getPreset, planVectorCounts, type EncryptedModelDescriptor } from '@fhe-llm/core';
import type { PlanTable } from './plan-table.ts';

/** Envelope header (17 bytes) plus the longest possible preset id. */
const ENVELOPE_HEADER_BYTES = 17 + 255;
/** SEAL's serialization header and compression framing, generously. */
const SEAL_OVERHEAD_BYTES = 1024;

/**
 * Largest step request body read for a model, a DoS bound rather than an
 * exact check (the exact ciphertext count is checked after parsing): twice
 * the most input ciphertexts any power-of-two vector count up to maxVectors
 * needs (plans change only at powers of two; the factor covers the groups a
 * count in between may add, without planning all maxVectors counts), each at
 * its largest size (uncompressed, not seeded).
 */
export function maxStepBodyBytes(descriptor: EncryptedModelDescriptor, plans: PlanTable): number {
  const preset = getPreset(descriptor.preset);
  const ciphertextBytes = 2 * preset.dataPrimeBits.length * preset.polyModulusDegree * 8 + SEAL_OVERHEAD_BYTES;
  let ciphertexts = 0;
  for (let step = 0; step < descriptor.steps.length; step++) {
    for (const vectors of planVectorCounts(descriptor.maxVectors)) {
      const plan = plans.get(step, vectors);
      ciphertexts = Math.max(ciphertexts, Math.ceil(vectors / plan.batch) * plan.cost.inputCiphertexts);
    }
  }
  return ENVELOPE_HEADER_BYTES + 2 * ciphertexts * (4 + ciphertextBytes);
}
