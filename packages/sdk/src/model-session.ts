import type { Remote } from 'comlink';
import { clientTableLength, parseTokenizerFile, planModelStep, SpeculationController, type EncryptedModelDescriptor, type LinearPlan, type StepRunner, type TextTokenizer } from '@fhe-llm/core';
import { needsPublicKey } from '@fhe-llm/core/protocol';
import { maxStepResponseBytes, type TrafficCounters } from '@fhe-llm/core/client';
import { ProtocolError } from './errors/protocol-error.ts';
import { checkEncryptedModelDescriptor } from './relay/check-descriptor.ts';
import { checkPresetSecurity } from './security-floor.ts';
import type { RelayApi } from './relay/relay-api.ts';
import type { StoredSession } from './storage/key-vault.ts';
import type { ProgressEvent, RoundTripEvent } from './types.ts';
import type { CryptoWorkerApi } from './worker/crypto-worker.ts';
import { proxy, transfer } from 'comlink';

/** Relay error codes after which re-uploading the stored keys is the fix. */
const SESSION_LOST = new Set(['session_not_found', 'session_expired']);

/** Traffic, and where the time of the round trips went. */
export interface SessionCounters extends TrafficCounters {
  /** The relay's evaluation-worker busy time, from its Server-Timing answers. */
  relayMs: number;
  /** Time the crypto worker spent encrypting and decrypting. */
  cryptoMs: number;
  /** Wall time inside runStep (crypto, network and relay): the main thread was waiting. */
  stepMs: number;
}

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
  readonly tokenizer: TextTokenizer;
  /** The client table (token embeddings; for GPT-2 also positions and biases), when the model embeds on the client. */
  readonly clientTable: Float32Array | undefined;
  readonly ring: string;
  readonly counters: SessionCounters = { roundTrips: 0, bytesUp: 0, bytesDown: 0, relayMs: 0, cryptoMs: 0, stepMs: 0 };
  /** Learns, across this model's completions, how many drafts a pass should carry. */
  readonly speculation = new SpeculationController();
  /** How many times keys were made (0 when they came from storage). */
  keysCreated = 0;
  readonly #deps: ModelSessionDeps;
  /**
   * Plans by (step, vectors). The planner is deterministic but costs
   * milliseconds per call (tens per token, on the page's main thread in a
   * browser); a session asks for the same few plans over and over.
   */
  readonly #plans = new Map<string, LinearPlan>();
  #evaluationKeys: Uint8Array | undefined;
  #session: StoredSession | undefined;
  /** Keys just made (first upload) are fresh already; every later upload makes new ones. */
  #freshKeysNext = false;

  private constructor(descriptor: EncryptedModelDescriptor, tokenizer: TextTokenizer, clientTable: Float32Array | undefined, deps: ModelSessionDeps) {
    this.descriptor = descriptor;
    this.tokenizer = tokenizer;
    this.clientTable = clientTable;
    this.#deps = deps;
    this.ring = ringId(deps.relay.baseUrl, descriptor.id, descriptor.preset);
  }

  static async open(modelId: string, deps: ModelSessionDeps, signal?: AbortSignal): Promise<ModelSession> {
    const [published, tokenizerBytes] = await Promise.all([deps.relay.getModel(modelId, signal), deps.relay.getTokenizer(modelId, signal)]);
    // Before any key is made for it: a 128-bit preset (unless the app opted out), the whole
    // descriptor, the planner version, and plans equal to ours.
    if (published && typeof (published as { preset?: unknown }).preset === 'string') checkPresetSecurity((published as { preset: string }).preset, deps.allowInsecurePresets);
    const descriptor = checkEncryptedModelDescriptor(published, modelId);
    const tokenizer = parseTokenizerFile(tokenizerBytes, descriptor.config.vocabSize);
    const tableLength = clientTableLength(descriptor);
    const table = tableLength > 0 ? await deps.relay.getClientTable(modelId, tableLength, signal) : undefined;
    const session = new ModelSession(descriptor, tokenizer, table, deps);
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
    // A relay that re-randomizes responses needs this session's public key too (made fresh, like the Galois keys).
    const publicKey = needsPublicKey(this.descriptor.responsePrivacy);
    const { worker } = this.#deps;
    const keys = this.#freshKeysNext
      ? await worker.freshEvaluationKeys(this.ring, this.descriptor.preset, [...this.descriptor.galoisSteps], publicKey)
      : publicKey
        ? await worker.withPublicKey(this.ring, this.#evaluationKeys)
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
    const started = performance.now();
    try {
      const outputs: Float64Array[] = [];
      const max = this.descriptor.maxVectors;
      for (let start = 0; start < inputs.length; start += max) {
        outputs.push(...(await this.#roundTrip(stepIndex, inputs.slice(start, start + max), signal)));
      }
      return outputs;
    } finally {
      this.counters.stepMs += performance.now() - started;
    }
  }

  async #roundTrip(stepIndex: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]> {
    signal?.throwIfAborted();
    const started = performance.now();
    const planKey = `${stepIndex}:${inputs.length}`;
    let plan = this.#plans.get(planKey);
    if (!plan) {
      plan = planModelStep(this.descriptor, stepIndex, inputs.length);
      this.#plans.set(planKey, plan);
    }
    const encrypted = await this.#deps.worker.encryptStep(this.ring, plan, inputs);
    const body = encrypted.body;
    this.counters.cryptoMs += encrypted.ms;
    let answer: { bytes: Uint8Array; relayMs: number };
    try {
      answer = await this.#evaluate(stepIndex, body, maxStepResponseBytes(plan, inputs.length), signal);
    } catch (error) {
      if (!SESSION_LOST.has((error as { code?: string }).code ?? '')) throw error;
      await this.#upload(signal);
      answer = await this.#evaluate(stepIndex, body, maxStepResponseBytes(plan, inputs.length), signal);
    }
    const response = answer.bytes;
    const bytesDown = response.length;
    this.counters.relayMs += answer.relayMs;
    // Hashed before the bytes move to the worker (transferred, not copied: the buffer is gone here afterwards).
    const hashes = this.#deps.onRoundTrip ? Promise.all([shortHash(body), shortHash(response)]) : undefined;
    await hashes;
    let outputs: Float64Array[];
    let decryptMs = 0;
    try {
      const decrypted = await this.#deps.worker.decryptStep(this.ring, plan, inputs.length, transfer(response, [response.buffer as ArrayBuffer]));
      this.counters.cryptoMs += decrypted.ms;
      decryptMs = decrypted.ms;
      outputs = decrypted.outputs;
    } catch (error) {
      const e = error as Error & { code?: string };
      throw new ProtocolError(e.code ?? 'bad_response', `the relay's answer to step ${stepIndex} does not decrypt: ${e.message}`, { cause: error });
    }
    this.counters.roundTrips++;
    this.counters.bytesUp += body.length;
    this.counters.bytesDown += bytesDown;
    if (this.#deps.onRoundTrip && hashes) {
      const [upHash, downHash] = await hashes;
      this.#deps.onRoundTrip({
        model: this.descriptor.id,
        step: stepIndex,
        stepId: this.descriptor.steps[stepIndex].id,
        vectors: inputs.length,
        bytesUp: body.length,
        bytesDown,
        upHash,
        downHash,
        ms: performance.now() - started,
        relayMs: answer.relayMs,
        cryptoMs: encrypted.ms + decryptMs,
      });
    }
    return outputs;
  }

  #evaluate(stepIndex: number, body: Uint8Array, maxResponseBytes: number, signal?: AbortSignal): Promise<{ bytes: Uint8Array; relayMs: number }> {
    if (!this.#session) throw new Error('no relay session');
    return this.#deps.relay.evaluateStep(this.descriptor.id, stepIndex, this.#session.token, body, maxResponseBytes, signal);
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
