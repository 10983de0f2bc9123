/**
 * The SDK's public types. Shaped after OpenAI's completions API so web
 * developers meet nothing cryptographic: keys, ciphertexts and the relay
 * protocol stay underneath.
 */

/** Where keys live. Browser default: IndexedDB. Node default: memory. */
export type StorageOption = 'indexeddb' | 'memory' | { directory: string };

export interface CreateClientOptions {
  /** Base URL of the relay, e.g. `http://127.0.0.1:8080`. Empty string: same origin. */
  relayUrl: string;
  /**
   * URL of node-seal's `seal_throws.wasm`. Default: the URL a bundler gave it
   * (Vite, webpack 5, Rollup), else beside node-seal's JavaScript (Node,
   * plain ESM). Set it when the file is served from somewhere else.
   */
  wasmUrl?: string;
  /**
   * URL of the SDK's worker module, `@fhe-llm/sdk/dist/worker/crypto-worker.js`,
   * for setups that copy it somewhere by hand. Default: bundled beside the app
   * by Vite/webpack; loaded from the SDK's own origin when the SDK itself comes
   * from a CDN (then through a same-origin `blob:` module worker, so the
   * page's CSP needs `worker-src blob:`).
   */
  workerUrl?: string;
  /** Key storage. Default: `'indexeddb'` in browsers, `'memory'` in Node. */
  storage?: StorageOption;
  /** fetch implementation for every relay request. Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Progress while SEAL loads, keys are made and uploaded. */
  onProgress?: (event: ProgressEvent) => void;
  /** Called after every encrypted round trip, with what the relay saw (sizes and hashes only). */
  onRoundTrip?: (event: RoundTripEvent) => void;
  /** Per-request timeout in ms. Default 60000. */
  timeoutMs?: number;
  /** Retries on 429/503 and network errors, honouring Retry-After. Default 4. */
  retries?: number;
  /** Accept a relay announcing a CKKS preset below 128-bit security (`insecure-...`). For tests only. Default false. */
  allowInsecurePresets?: boolean;
  /** Accept a plain-http relay URL that is not loopback. Default false: https required. */
  allowInsecureTransport?: boolean;
  /** Headers sent with every relay request, e.g. `{ 'X-API-Key': key }` or `{ 'X-Client-Token': jwt }` when the relay requires them. Default none. */
  headers?: Record<string, string>;
}

export interface ProgressEvent {
  phase: 'loading-wasm' | 'generating-keys' | 'storing-keys' | 'uploading-keys' | 'ready';
  model?: string;
  /** 0..1 within the phase. */
  progress: number;
  message: string;
}

export interface RoundTripEvent {
  model: string;
  step: number;
  stepId: string;
  vectors: number;
  bytesUp: number;
  bytesDown: number;
  /** First 16 hex digits of SHA-256 of the request and response bodies. */
  upHash: string;
  downHash: string;
  /** Wall time of the round trip, encryption and decryption included. */
  ms: number;
  /** The relay's evaluation-worker busy time for it (its Server-Timing), 0 if it did not say. */
  relayMs: number;
  /** Time the crypto worker spent encrypting the request and decrypting the answer. */
  cryptoMs: number;
}

export interface ModelInfo {
  id: string;
  object: 'model';
  preset: string;
  config: { dim: number; nLayers: number; vocabSize: number; seqLen: number };
  roundTripsPerToken: number;
}

export interface KeyStatus {
  model: string;
  /** Keys exist in storage for this relay and model. */
  stored: boolean;
  createdAt?: string;
  /** Serialized evaluation-key bytes uploaded to the relay. */
  evaluationKeyBytes?: number;
  /** A relay session is open for these keys. */
  session: boolean;
}

export interface CompletionParams {
  model: string;
  prompt: string;
  /** Tokens to generate after the prompt. Default 64. */
  max_tokens?: number;
  /** 0 = greedy (the default). */
  temperature?: number;
  /** Nucleus mass. Default 0.9. */
  top_p?: number;
  /** Sampling seed; same seed, same text. Default 42. */
  seed?: number;
  /** Sequences to generate, batched into the same ciphertexts. Default 1. */
  n?: number;
  stream?: boolean;
  signal?: AbortSignal;
  /**
   * Speculative multi-token passes (default true): each pass also carries up
   * to a few draft tokens guessed from the prompt and the text so far, and
   * keeps those the model agrees with. Same tokens as without (greedy, or
   * the same seed); how many drafts a pass carries adapts to what they earn,
   * down to none. false: exactly one token per pass.
   */
  speculative?: boolean;
}

export type FinishReason = 'length' | 'stop';

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: FinishReason; token_ids: number[] }[];
  usage: CompletionUsage;
  /** fhe-llm extras: what the privacy cost. */
  fhe: {
    prompt_token_ids: number[];
    round_trips: number;
    bytes_up: number;
    bytes_down: number;
    /** Wall-clock milliseconds of the whole completion. */
    ms: number;
    /**
     * The relay's evaluation-worker CPU time over all round trips (its
     * `Server-Timing: worker-cpu`): the tasks, and the workers' upkeep
     * between tasks (encryptions of zero for re-randomization, messages).
     */
    relay_cpu_ms: number;
    /**
     * The client's CPU time. Node: the process's CPU clock over the
     * completion (all threads). Browsers, which have no such clock: the
     * crypto worker's time plus the calling thread's work outside the round
     * trips (model arithmetic, sampling), a lower bound.
     */
    client_cpu_ms: number;
    /** The crypto worker's share of client_cpu_ms. */
    client_crypto_ms: number;
  };
}

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Forward passes through the model, the prompt's included (each costs one round trip per step). */
  passes: number;
  /** Completion tokens per sequence per pass: 1 without speculation, more when drafts were accepted. */
  tokens_per_pass: number;
  /** Draft tokens sent, and how many the model accepted. */
  draft_tokens: number;
  accepted_draft_tokens: number;
}

export interface CompletionChunk {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: FinishReason | null; token_id?: number }[];
}

/** A streamed completion: iterate for chunks; `completion` resolves to the whole Completion when the stream ends. */
export interface CompletionStream extends AsyncIterable<CompletionChunk> {
  readonly completion: Promise<Completion>;
}

export interface FheLlmClient {
  /** Resolves when SEAL is loaded in the worker. */
  readonly ready: Promise<void>;
  readonly models: { list(): Promise<ModelInfo[]> };
  readonly completions: {
    create(params: CompletionParams & { stream: true }): Promise<CompletionStream>;
    create(params: CompletionParams & { stream?: false }): Promise<Completion>;
    create(params: CompletionParams): Promise<Completion | CompletionStream>;
  };
  readonly keys: {
    status(model: string): Promise<KeyStatus>;
    /** New keys for the model (old ones forgotten here and on the relay). */
    rotate(model: string): Promise<void>;
    /** Delete stored keys and the relay session. */
    forget(model: string): Promise<void>;
  };
  /** Stop the worker and free its memory. */
  close(): Promise<void>;
}
