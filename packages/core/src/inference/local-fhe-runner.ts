import type { GaloisKeys } from 'node-seal';
import type { CkksClient } from '../client/ckks-client.ts';
import type { StepRunner } from '../model/split-client.ts';
import { needsPublicKey, ResponseRerandomizer, type ResponsePrivacy } from '../protocol/response-privacy.ts';
import { decryptStepResponse, encodeStepResponse, encryptStepRequest, evaluateGroup, splitRequestGroups } from '../protocol/step-exchange.ts';
import { decodeEnvelope } from '../wire/envelope.ts';
import { planModelStep } from './encrypted-model.ts';
import type { StepOperators } from './step-operators.ts';

/** Bytes and round trips a runner has moved, for the CLI's --json and the benchmarks. */
export interface TrafficCounters {
  roundTrips: number;
  bytesUp: number;
  bytesDown: number;
}

/**
 * Split a step's vectors into requests of at most `maxVectors`, run each
 * through `exchange` (bytes in, bytes out), and count traffic. Shared by the
 * in-process runner and the HTTP runners.
 */
export async function runEncryptedStep(
  client: CkksClient,
  model: StepOperators['model'],
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

/**
 * Real CKKS, no network: the client encrypts, the relay's operators evaluate
 * in the same process, the client decrypts. Everything crosses the same
 * serialized envelopes as over HTTP, so sizes and checks are the real ones.
 */
export class LocalFheStepRunner implements StepRunner {
  readonly counters: TrafficCounters = { roundTrips: 0, bytesUp: 0, bytesDown: 0 };
  readonly #client: CkksClient;
  readonly #operators: StepOperators;
  readonly #keys: GaloisKeys;
  readonly #rerandomizer: ResponseRerandomizer | undefined;

  /** `privacy`: re-randomize (and flood) responses under the client's public key, as a relay would. */
  constructor(client: CkksClient, operators: StepOperators, privacy?: ResponsePrivacy) {
    this.#client = client;
    this.#operators = operators;
    this.#keys = operators.ctx.loadGaloisKeys(client.makeGaloisKeys(operators.model.galoisSteps));
    this.#rerandomizer = needsPublicKey(privacy) && privacy ? ResponseRerandomizer.fromBytes(operators.ctx, client.makePublicKey(), privacy) : undefined;
  }

  async runStep(stepIndex: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]> {
    signal?.throwIfAborted();
    return runEncryptedStep(
      this.#client,
      this.#operators.model,
      stepIndex,
      inputs,
      async (body) => {
        const envelope = decodeEnvelope(body, { kind: 'ciphertexts', presetId: this.#operators.model.preset });
        const { plan, operator } = this.#operators.get(stepIndex, envelope.vectors);
        const groups = splitRequestGroups(plan, envelope).map((group) => evaluateGroup(operator, this.#keys, group, undefined, this.#rerandomizer));
        return encodeStepResponse(plan, envelope.vectors, groups);
      },
      this.counters,
    );
  }

  delete(): void {
    this.#rerandomizer?.delete();
    this.#keys.delete();
  }
}
