import type { Remote } from 'comlink';
import { parseLlama2cTokenizer, planModelStep, type EncryptedModelDescriptor, type StepRunner, type Tokenizer, type TrafficCounters } from '@fhe-llm/core';
import { ProtocolError } from './errors/protocol-error.ts';
import { checkPresetSecurity } from './security-floor.ts';
import type { RelayApi } from './relay/relay-api.ts';
import type { StoredSession } from './storage/key-vault.ts';
import type { ProgressEvent, RoundTripEvent } from './types.ts';
import type { CryptoWorkerApi } from './worker/crypto-worker.ts';
import { proxy } from 'comlink';

/** Relay error codes after which re-uploading the stored keys is the fix. */
const SESSION_LOST = new Set(['session_not_found', 'session_expired']);

export interface ModelSessionDeps {
  relay: RelayApi;
  worker: Remote<CryptoWorkerApi>;
  onProgress?: (e: ProgressEvent) => void;
  onRoundTrip?: (e: RoundTripEvent) => void;
  /** See CreateClientOptions.allowInsecurePresets. */
  allowInsecurePresets?: boolean;
}

/**
 * One model on one relay, for one client: its public descriptor and
 * tokenizer, the worker's keys for it, and the relay session they opened.
 * As a StepRunner it encrypts in the worker, evaluates on the relay and
 * decrypts in the worker; when the relay has forgotten the session (restart,
 * expiry) it re-uploads the stored evaluation keys, without making new ones,
 * and retries the step once.
 */
export class ModelSession implements StepRunner {
  readonly descriptor: EncryptedModelDescriptor;
  readonly tokenizer: Tokenizer;
  readonly ring: string;
  readonly counters: TrafficCounters = { roundTrips: 0, bytesUp: 0, bytesDown: 0 };
  /** How many times keys were made (0 when they came from storage). */
  keysCreated = 0;
  readonly #deps: ModelSessionDeps;
  #evaluationKeys: Uint8Array | undefined;
  #session: StoredSession | undefined;
  /** Keys just made (first upload) are fresh already; every later upload makes new ones. */
  #freshKeysNext = false;

  private constructor(descriptor: EncryptedModelDescriptor, tokenizer: Tokenizer, deps: ModelSessionDeps) {
    this.descriptor = descriptor;
    this.tokenizer = tokenizer;
    this.#deps = deps;
    this.ring = ringId(deps.relay.baseUrl, descriptor.id, descriptor.preset);
  }

  static async open(modelId: string, deps: ModelSessionDeps, signal?: AbortSignal): Promise<ModelSession> {
    const [descriptor, tokenizerBytes] = await Promise.all([deps.relay.getModel(modelId, signal), deps.relay.getTokenizer(modelId, signal)]);
    if (!descriptor || !Array.isArray(descriptor.steps) || !Array.isArray(descriptor.galoisSteps) || typeof descriptor.preset !== 'string') {
      throw new ProtocolError('bad_descriptor', `the relay's descriptor for ${modelId} is incomplete`);
    }
    // Before any key is made for it.
    checkPresetSecurity(descriptor.preset, deps.allowInsecurePresets);
    const tokenizer = parseLlama2cTokenizer(tokenizerBytes, descriptor.config.vocabSize);
    const session = new ModelSession(descriptor, tokenizer, deps);
    await session.#openKeys(signal);
    return session;
  }

  /** Keys from storage, or new ones; then a relay session (reused if one was stored). */
  async #openKeys(signal?: AbortSignal): Promise<void> {
    const { worker, onProgress } = this.#deps;
    const progress = onProgress ? proxy((e: ProgressEvent) => onProgress({ ...e, model: this.descriptor.id })) : undefined;
    const opened = await worker.openKeys(this.ring, this.descriptor.preset, [...this.descriptor.galoisSteps], progress);
    if (opened.created) this.keysCreated++;
    this.#evaluationKeys = opened.evaluationKeys;
    this.#freshKeysNext = !opened.created;
    this.#session = opened.session && Date.parse(opened.session.expiresAt) > Date.now() ? opened.session : undefined;
    if (!this.#session) await this.#upload(signal);
    onProgress?.({ phase: 'ready', progress: 1, model: this.descriptor.id, message: opened.created ? 'New keys ready' : 'Keys loaded from storage' });
  }

  async #upload(signal?: AbortSignal): Promise<StoredSession> {
    if (!this.#evaluationKeys) throw new Error('keys are not open');
    // Fresh Galois keys from the stored secret key for every session: the relay cannot link sessions by key hash.
    const keys = this.#freshKeysNext
      ? await this.#deps.worker.freshEvaluationKeys(this.ring, this.descriptor.preset, [...this.descriptor.galoisSteps])
      : this.#evaluationKeys;
    this.#freshKeysNext = true;
    this.#deps.onProgress?.({ phase: 'uploading-keys', progress: 0, model: this.descriptor.id, message: `Uploading ${(keys.length / 1e6).toFixed(2)} MB of evaluation keys` });
    const grant = await this.#deps.relay.createSession(this.descriptor.id, keys, signal);
    this.#session = { id: grant.id, token: grant.token, expiresAt: grant.expiresAt };
    await this.#deps.worker.saveSession(this.ring, this.#session);
    this.#deps.onProgress?.({ phase: 'uploading-keys', progress: 1, model: this.descriptor.id, message: 'Evaluation keys uploaded' });
    return this.#session;
  }

  async runStep(stepIndex: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]> {
    const outputs: Float64Array[] = [];
    const max = this.descriptor.maxVectors;
    for (let start = 0; start < inputs.length; start += max) {
      outputs.push(...(await this.#roundTrip(stepIndex, inputs.slice(start, start + max), signal)));
    }
    return outputs;
  }

  async #roundTrip(stepIndex: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]> {
    signal?.throwIfAborted();
    const started = performance.now();
    const plan = planModelStep(this.descriptor, stepIndex, inputs.length);
    const body = await this.#deps.worker.encryptStep(this.ring, plan, inputs);
    let response: Uint8Array;
    try {
      response = await this.#evaluate(stepIndex, body, signal);
    } catch (error) {
      if (!SESSION_LOST.has((error as { code?: string }).code ?? '')) throw error;
      await this.#upload(signal);
      response = await this.#evaluate(stepIndex, body, signal);
    }
    let outputs: Float64Array[];
    try {
      outputs = await this.#deps.worker.decryptStep(this.ring, plan, inputs.length, response);
    } catch (error) {
      const e = error as Error & { code?: string };
      throw new ProtocolError(e.code ?? 'bad_response', `the relay's answer to step ${stepIndex} does not decrypt: ${e.message}`, { cause: error });
    }
    this.counters.roundTrips++;
    this.counters.bytesUp += body.length;
    this.counters.bytesDown += response.length;
    if (this.#deps.onRoundTrip) {
      const [upHash, downHash] = await Promise.all([shortHash(body), shortHash(response)]);
      this.#deps.onRoundTrip({
        model: this.descriptor.id,
        step: stepIndex,
        stepId: this.descriptor.steps[stepIndex].id,
        vectors: inputs.length,
        bytesUp: body.length,
        bytesDown: response.length,
        upHash,
        downHash,
        ms: performance.now() - started,
      });
    }
    return outputs;
  }

  #evaluate(stepIndex: number, body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    if (!this.#session) throw new Error('no relay session');
    return this.#deps.relay.evaluateStep(this.descriptor.id, stepIndex, this.#session.token, body, signal);
  }

  get hasSession(): boolean {
    return this.#session !== undefined;
  }

  /** Close the relay session (best effort) and forget it locally. */
  async closeSession(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (session) await this.#deps.relay.deleteSession(session).catch(() => undefined);
  }
}

/** Storage name of a model's keys: one key ring per relay, model and preset. */
export function ringId(relayUrl: string, model: string, preset: string): string {
  return `${relayUrl || 'same-origin'}|${model}|${preset}`;
}

async function shortHash(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}
