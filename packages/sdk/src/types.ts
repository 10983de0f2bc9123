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
  /** URL of node-seal's `seal_throws.wasm` when a bundler or CDN serves it elsewhere. Default: beside node-seal's JS. */
  wasmUrl?: string;
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
  ms: number;
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
}

export type FinishReason = 'length' | 'stop';

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: FinishReason; token_ids: number[] }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** fhe-llm extras: what the privacy cost. */
  fhe: { prompt_token_ids: number[]; round_trips: number; bytes_up: number; bytes_down: number; ms: number };
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
