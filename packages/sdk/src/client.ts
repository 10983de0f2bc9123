import { collectCompletion, completionStream, streamCompletion } from './completions.ts';
import { ModelSession, ringId } from './model-session.ts';
import { RelayApi } from './relay/relay-api.ts';
import type { Completion, CompletionParams, CompletionStream, CreateClientOptions, FheLlmClient, KeyStatus, ModelInfo } from './types.ts';
import { checkRelayUrl } from './security-floor.ts';
import { spawnCryptoWorker } from './worker/spawn-worker.ts';

/**
 * Create a client for one relay. SEAL loads in a worker at once (`ready`);
 * keys for a model are made (or loaded from storage) the first time that
 * model is used, and uploaded to the relay as evaluation keys.
 */
export function createClient(options: CreateClientOptions): FheLlmClient {
  checkRelayUrl(options.relayUrl, options.allowInsecureTransport);
  const relay = new RelayApi({ relayUrl: options.relayUrl, fetch: options.fetch, timeoutMs: options.timeoutMs ?? 60_000, retries: options.retries ?? 4, headers: options.headers });
  const spawned = spawnCryptoWorker({ workerUrl: options.workerUrl });
  const ready = (async () => {
    const { api } = await spawned;
    options.onProgress?.({ phase: 'loading-wasm', progress: 0, message: 'Loading SEAL' });
    await api.init({ wasmUrl: options.wasmUrl, storage: options.storage });
    options.onProgress?.({ phase: 'loading-wasm', progress: 1, message: 'SEAL loaded' });
    if (typeof navigator !== 'undefined' && navigator.storage?.persist && options.storage !== 'memory') {
      // Ask the browser not to evict the keys; a refusal only means they may be re-made later.
      await navigator.storage.persist().catch(() => false);
    }
  })();
  ready.catch(() => undefined);
  const sessions = new Map<string, Promise<ModelSession>>();

  async function session(model: string, signal?: AbortSignal): Promise<ModelSession> {
    await ready;
    let opening = sessions.get(model);
    if (!opening) {
      const { api } = await spawned;
      opening = ModelSession.open(model, { relay, worker: api, onProgress: options.onProgress, onRoundTrip: options.onRoundTrip, allowInsecurePresets: options.allowInsecurePresets }, signal);
      sessions.set(model, opening);
      opening.catch(() => sessions.delete(model));
    }
    return opening;
  }

  function create(params: CompletionParams & { stream: true }): Promise<CompletionStream>;
  function create(params: CompletionParams & { stream?: false }): Promise<Completion>;
  function create(params: CompletionParams): Promise<Completion | CompletionStream>;
  async function create(params: CompletionParams): Promise<Completion | CompletionStream> {
    const s = await session(params.model, params.signal);
    const generator = streamCompletion(s, params);
    if (!params.stream) return collectCompletion(generator);
    return completionStream(generator);
  }

  async function status(model: string): Promise<KeyStatus> {
    await ready;
    const { api } = await spawned;
    const open = sessions.has(model) ? await sessions.get(model)!.catch(() => undefined) : undefined;
    const ring: string = open?.ring ?? (await relay.getModel(model).then((d) => ringId(relay.baseUrl, d.id, d.preset)));
    const s = await api.status(ring);
    return { model, stored: s.stored, createdAt: s.createdAt, evaluationKeyBytes: s.evaluationKeyBytes, session: open?.hasSession ?? s.session !== undefined };
  }

  async function forget(model: string): Promise<void> {
    await ready;
    const { api } = await spawned;
    const open = await sessions.get(model)?.catch(() => undefined);
    sessions.delete(model);
    await open?.closeSession();
    const ring: string = open?.ring ?? (await relay.getModel(model).then((d) => ringId(relay.baseUrl, d.id, d.preset)));
    await api.forget(ring);
  }

  return {
    ready,
    models: {
      list: async (): Promise<ModelInfo[]> =>
        (await relay.listModels()).map((d) => ({
          id: d.id,
          object: 'model',
          preset: d.preset,
          config: { dim: d.config.dim, nLayers: d.config.nLayers, vocabSize: d.config.vocabSize, seqLen: d.config.seqLen },
          roundTripsPerToken: d.steps.length,
        })),
    },
    completions: { create },
    keys: {
      status,
      forget,
      rotate: async (model: string) => {
        await forget(model);
        await session(model);
      },
    },
    close: async () => {
      const { api, terminate } = await spawned;
      await api.close().catch(() => undefined);
      await terminate();
    },
  };
}
