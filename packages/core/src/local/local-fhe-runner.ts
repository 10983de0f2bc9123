import type { GaloisKeys } from 'node-seal';
import type { CkksClient } from '../client/ckks-client.ts';
import { runEncryptedStep, type TrafficCounters } from '../client/step-exchange.ts';
import type { StepRunner } from '../model/split-client.ts';
import { needsPublicKey, type ResponsePrivacy } from '../protocol/response-privacy.ts';
import { ResponseRerandomizer } from '../server/response-rerandomizer.ts';
import { encodeStepResponse, evaluateGroup, splitRequestGroups } from '../server/step-exchange.ts';
import type { StepOperators } from '../server/step-operators.ts';
import { decodeEnvelope } from '../wire/envelope.ts';

/**
 * Real CKKS, no network: both halves in one process (hence its own entry,
 * `@fhe-llm/core/local`). The client encrypts, the relay's operators evaluate
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
    this.#keys = operators.ctx.loadGaloisKeys(client.makeGaloisKeys(operators.model.galoisSteps), operators.model.galoisSteps.length);
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
