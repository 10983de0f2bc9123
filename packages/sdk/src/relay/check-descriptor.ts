import { getPreset, isFheLlmError, planModelStep, PLANNER_VERSION, validateModelDescriptor, type EncryptedModelDescriptor, type LinearPlan } from '@fhe-llm/core';
import { RESPONSE_PRIVACY_MODES } from '@fhe-llm/core/protocol';
import { ProtocolError } from '../errors/protocol-error.ts';

/** Upper bound for the descriptor's vector and worker counts: beyond it the relay is not one we can talk to. */
const MAX_COUNT = 4096;

function bad(message: string, expected?: unknown, got?: unknown, cause?: unknown): ProtocolError {
  return new ProtocolError('bad_descriptor', `the relay's model descriptor: ${message}`, { expected, got, cause });
}

function positiveInt(value: unknown, what: string, max = MAX_COUNT): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) throw bad(`${what} must be an integer in 1..${max}`, `1..${max}`, value);
  return value;
}

/** A plan without its cost estimate: costs are measured per machine, the layout is what both sides must share. */
function layoutOf(plan: unknown): string {
  if (typeof plan !== 'object' || plan === null) return JSON.stringify(plan);
  const { cost: _cost, ...layout } = plan as LinearPlan;
  return JSON.stringify(layout);
}

/**
 * Check everything the client will rely on in a relay's descriptor (JSON from
 * the network, so hostile until proven otherwise) before keys are made for
 * it: the split-model layout, the planner version, the preset, the counts,
 * the Galois steps, and that this SDK's planner makes the same plans the
 * relay published (so ciphertexts will line up). Throws ProtocolError with
 * code `planner_mismatch`, `unknown_preset` or `bad_descriptor`.
 */
export function checkEncryptedModelDescriptor(value: unknown, modelId: string): EncryptedModelDescriptor {
  try {
    validateModelDescriptor(value);
  } catch (error) {
    const e = error as { message?: string; expected?: unknown; got?: unknown };
    throw bad(e.message ?? String(error), e.expected, e.got, error);
  }
  const d = value as Record<string, unknown> & { steps: unknown[] };
  if (d.planner !== PLANNER_VERSION) {
    throw new ProtocolError('planner_mismatch', `the relay plans with planner version ${JSON.stringify(d.planner)}, this SDK with ${PLANNER_VERSION}: use matching @fhe-llm/sdk and relay versions`, {
      expected: PLANNER_VERSION,
      got: d.planner,
    });
  }
  if (d.id !== modelId) throw bad(`describes model ${JSON.stringify(d.id)}, not ${JSON.stringify(modelId)}`, modelId, d.id);
  if (typeof d.preset !== 'string') throw bad('preset must be a string', 'string', typeof d.preset);
  let slots: number;
  try {
    slots = getPreset(d.preset).polyModulusDegree / 2;
  } catch (error) {
    throw new ProtocolError('unknown_preset', `the relay uses CKKS preset ${JSON.stringify(d.preset)}, which this SDK does not know`, {
      expected: (error as { expected?: unknown }).expected,
      got: d.preset,
      cause: error,
    });
  }
  positiveInt(d.maxVectors, 'maxVectors');
  positiveInt(d.parallelism, 'parallelism', 64);
  positiveInt(d.maxBatch, 'maxBatch');
  checkResponsePrivacy(d.responsePrivacy);
  if (d.msPerUploadByte !== undefined && !(typeof d.msPerUploadByte === 'number' && d.msPerUploadByte >= 0 && d.msPerUploadByte <= 1)) {
    throw bad('msPerUploadByte must be a number from 0 to 1', '0..1', d.msPerUploadByte);
  }

  const galois = d.galoisSteps;
  if (!Array.isArray(galois) || galois.length === 0 || galois.length > slots)
    throw bad(`galoisSteps must be a list of 1..${slots} rotation steps`, `1..${slots}`, Array.isArray(galois) ? galois.length : galois);
  for (const step of galois) {
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step === 0 || Math.abs(step) >= slots)
      throw bad(`rotation step ${JSON.stringify(step)} is not a non-zero integer below ${slots} in magnitude`, `0 < |step| < ${slots}`, step);
  }
  if (new Set(galois).size !== galois.length) throw bad('galoisSteps has duplicates');

  const descriptor = value as EncryptedModelDescriptor;
  const plans = d.plans;
  if (!Array.isArray(plans) || plans.length !== d.steps.length) throw bad('plans must hold one plan per step', d.steps.length, Array.isArray(plans) ? plans.length : plans);
  plans.forEach((published, i) => {
    let ours: LinearPlan;
    try {
      ours = planModelStep(descriptor, i, 1);
    } catch (error) {
      if (!isFheLlmError(error)) throw error;
      throw bad(`step ${i} cannot be planned: ${error.message}`, error.expected, error.got, error);
    }
    if (layoutOf(published) !== layoutOf(ours)) {
      throw new ProtocolError('planner_mismatch', `step ${i}: the relay's plan differs from this SDK's (planner version ${PLANNER_VERSION} on both, different builds?)`, {
        expected: layoutOf(ours),
        got: layoutOf(published),
      });
    }
  });
  return descriptor;
}

/** Absent (older relays) or a known mode; a flooding deviation, when given, a positive finite number. */
function checkResponsePrivacy(value: unknown): void {
  if (value === undefined) return;
  const p = value as { mode?: unknown; floodSigma?: unknown };
  if (typeof value !== 'object' || value === null || !(RESPONSE_PRIVACY_MODES as readonly unknown[]).includes(p.mode)) {
    throw bad(`responsePrivacy.mode must be one of ${RESPONSE_PRIVACY_MODES.join(', ')}`, RESPONSE_PRIVACY_MODES, typeof value === 'object' && value !== null ? p.mode : value);
  }
  if (p.floodSigma !== undefined && !(typeof p.floodSigma === 'number' && Number.isFinite(p.floodSigma) && p.floodSigma > 0)) {
    throw bad('responsePrivacy.floodSigma must be a positive number', '> 0', p.floodSigma);
  }
}
