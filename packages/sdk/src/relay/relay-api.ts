import ky, { HTTPError, TimeoutError, type BeforeRequestHook, type KyInstance } from 'ky';
import type { EncryptedModelDescriptor } from '@fhe-llm/core';
import type { SessionGrant } from '@fhe-llm/core/protocol';
import { ProtocolError } from '../errors/protocol-error.ts';
import { RelayError } from '../errors/relay-error.ts';
import { RelayTimeoutError } from '../errors/relay-timeout-error.ts';
import { RelayUnavailableError } from '../errors/relay-unavailable-error.ts';

export interface RelayApiOptions {
  relayUrl: string;
  fetch?: typeof fetch;
  timeoutMs: number;
  retries: number;
  headers?: Record<string, string>;
}

/**
 * The relay's HTTP API through ky: timeouts, retries with backoff on
 * network errors, 429 and 503 (honouring Retry-After; step evaluation is a
 * pure function of its input, so retrying a POST is safe), AbortSignal on
 * every call, and relay errors turned into typed errors.
 */
export class RelayApi {
  readonly baseUrl: string;
  readonly #http: KyInstance;
  readonly #timeoutMs: number;
  /** The fetch ky uses, for requests the SDK sends itself (see evaluateStep). */
  readonly #fetch: typeof fetch;
  /** Tokenizer files by model id: fetched once per client (they are public and large, up to megabytes of JSON). */
  readonly #tokenizers = new Map<string, Promise<Uint8Array>>();
  /** Token-embedding tables by model id, for models that embed on the client (tens of MB: fetched once). */
  readonly #clientTables = new Map<string, Promise<Float32Array>>();

  constructor(options: RelayApiOptions) {
    this.baseUrl = options.relayUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
    // Called as a plain function: a browser's fetch throws "Illegal invocation" when called as a method of another object.
    const custom = options.fetch;
    this.#fetch = (input, init) => (custom ?? globalThis.fetch)(input, init);
    this.#http = ky.create({
      timeout: options.timeoutMs,
      fetch: options.fetch,
      headers: options.headers,
      retry: {
        limit: options.retries,
        methods: ['get', 'post', 'delete'],
        statusCodes: [408, 429, 502, 503, 504],
        afterStatusCodes: [429, 503],
        maxRetryAfter: 30_000,
        backoffLimit: 4_000,
        // The relay sends Retry-After with every 429 that waiting can fix; one without it
        // (a spent query budget) would only be refused again.
        shouldRetry: ({ error }) => (error instanceof HTTPError && error.response.status === 429 && !error.response.headers.has('retry-after') ? false : undefined),
      },
    });
  }

  async listModels(signal?: AbortSignal): Promise<EncryptedModelDescriptor[]> {
    const body = await this.#call('/v1/models', { signal }, (r) => r.json<unknown>());
    const list = Array.isArray(body) ? body : ((body as { models?: unknown })?.models ?? (body as { data?: unknown })?.data);
    if (!Array.isArray(list)) throw new ProtocolError('bad_response', 'GET /v1/models did not return a list of models');
    return list as EncryptedModelDescriptor[];
  }

  getModel(id: string, signal?: AbortSignal): Promise<EncryptedModelDescriptor> {
    return this.#call(`/v1/models/${encodeURIComponent(id)}`, { signal }, (r) => r.json<EncryptedModelDescriptor>());
  }

  /** The model's tokenizer file (tokenizer.bin or tokenizer.json), cached after the first success. */
  getTokenizer(id: string, signal?: AbortSignal): Promise<Uint8Array> {
    const cached = this.#tokenizers.get(id);
    if (cached) return cached;
    const fetched = this.#call(`/v1/models/${encodeURIComponent(id)}/tokenizer`, { signal }, (r) => r.arrayBuffer()).then((b) => new Uint8Array(b));
    this.#tokenizers.set(id, fetched);
    fetched.catch(() => this.#tokenizers.delete(id)); // a failure is not cached
    return fetched;
  }

  /**
   * The float32 client table of a model whose descriptor says
   * `"embedding": "client"` (token embeddings; for GPT-2 also positions and
   * the published biases); its size is checked against the descriptor
   * (ProtocolError 'bad_response' otherwise).
   */
  getClientTable(id: string, expectedValues: number, signal?: AbortSignal): Promise<Float32Array> {
    const cached = this.#clientTables.get(id);
    if (cached) return cached;
    const expected = expectedValues * 4;
    const fetched = this.#call(`/v1/models/${encodeURIComponent(id)}/client-table`, { signal }, (r) => readAtMost(r, expected)).then((bytes) => {
      if (bytes.byteLength !== expected) {
        throw new ProtocolError('bad_response', `the client table of ${id} is ${bytes.byteLength} bytes; its descriptor implies ${expected}`, { expected, got: bytes.byteLength });
      }
      return new Float32Array(bytes.buffer, bytes.byteOffset, expectedValues);
    });
    this.#clientTables.set(id, fetched);
    fetched.catch(() => this.#clientTables.delete(id)); // a failure is not cached
    return fetched;
  }

  async createSession(model: string, evaluationKeys: Uint8Array, signal?: AbortSignal): Promise<SessionGrant> {
    const grant = await this.#call(
      `/v1/sessions?model=${encodeURIComponent(model)}`,
      { method: 'post', body: evaluationKeys as BodyInit, headers: { 'content-type': 'application/octet-stream' }, signal },
      (r) => r.json<SessionGrant>(),
    );
    if (typeof grant?.id !== 'string' || typeof grant.token !== 'string') throw new ProtocolError('bad_response', 'session grant without id or token');
    return grant;
  }

  async deleteSession(grant: { id: string; token: string }, signal?: AbortSignal): Promise<void> {
    await this.#call(`/v1/sessions/${encodeURIComponent(grant.id)}`, { method: 'delete', headers: { authorization: `Bearer ${grant.token}` }, signal }, async () => undefined);
  }

  /**
   * The answer's bytes and the relay's evaluation-worker CPU time (its
   * Server-Timing), 0 when absent; an answer beyond `maxResponseBytes` is
   * refused (ProtocolError 'bad_response') while reading. The body is sent by a beforeRequest hook
   * (`sendBytes`), not by ky, which clones every request before sending it
   * so that it can retry: a browser clones a byte body by teeing it through a
   * stream, about 6 ms of main thread per step in Chromium (11 steps per
   * stories260K token). ky's retries, backoff and Retry-After handling stay;
   * each attempt sends the same bytes.
   */
  async evaluateStep(model: string, step: number, token: string, body: Uint8Array, maxResponseBytes: number, signal?: AbortSignal): Promise<{ bytes: Uint8Array; relayMs: number }> {
    return this.#call(
      `/v1/models/${encodeURIComponent(model)}/steps/${step}`,
      {
        method: 'post',
        headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
        signal,
        hooks: { beforeRequest: [sendBytes(body, this.#fetch, this.#timeoutMs)] },
      },
      // Read within the size the plan allows (maxStepResponseBytes): a relay cannot make the client buffer more.
      async (r) => ({ bytes: await readAtMost(r, maxResponseBytes), relayMs: workerMs(r.headers.get('server-timing')) }),
    );
  }

  async #call<T>(path: string, init: Parameters<KyInstance>[1], read: (r: Response & { json<J>(): Promise<J> }) => Promise<T>): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    try {
      const response = await this.#http(url, init);
      try {
        return await read(response as Response & { json<J>(): Promise<J> });
      } catch (error) {
        throw new ProtocolError('bad_response', `unreadable response from ${path}: ${(error as Error).message}`, { cause: error });
      }
    } catch (error) {
      throw await this.#typed(url, error);
    }
  }

  async #typed(url: string, error: unknown): Promise<unknown> {
    if (error instanceof HTTPError) {
      const status = error.response.status;
      let code = `http_${status}`;
      let message = `${error.request.method} ${url} answered ${status}`;
      try {
        const body = (await error.response.json()) as { error?: { code?: unknown; message?: unknown } };
        if (typeof body?.error?.code === 'string') code = body.error.code;
        if (typeof body?.error?.message === 'string') message = body.error.message;
      } catch {
        // Not our JSON error shape: keep the status-derived code.
      }
      return new RelayError(status, code, message);
    }
    if (error instanceof TimeoutError) return new RelayTimeoutError(url, this.#timeoutMs);
    if ((error as Error)?.name === 'AbortError' || (error as Error)?.name === 'ProtocolError') return error;
    if (error instanceof TypeError) return new RelayUnavailableError(url, error);
    return error;
  }
}

/**
 * A beforeRequest hook that sends `body` with ky's request (its URL, merged
 * headers and signal) through `fetchImpl` and hands ky the response, so ky
 * neither builds nor clones a request body. Times out like ky would
 * (TimeoutError, which RelayApi turns into RelayTimeoutError).
 */
function sendBytes(body: Uint8Array, fetchImpl: typeof fetch, timeoutMs: number): BeforeRequestHook {
  return async (request) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      return await fetchImpl(request.url, { method: request.method, headers: request.headers, body: body as BodyInit, signal: AbortSignal.any([request.signal, timeout]) });
    } catch (error) {
      if (timeout.aborted && !request.signal.aborted) throw new TimeoutError(request);
      throw error;
    }
  };
}

/**
 * The relay's evaluation-worker CPU ms from a Server-Timing header
 * (`worker-cpu`, else the busy time `worker`); 0 when missing or malformed
 * (the figure is informational).
 */
export function workerMs(header: string | null): number {
  for (const metric of ['worker-cpu', 'worker']) {
    const match = new RegExp(`(?:^|,)\\s*${metric}\\s*;(?:[^,]*;)?\\s*dur=([0-9.]+)`).exec(header ?? '');
    const ms = match ? Number(match[1]) : NaN;
    if (Number.isFinite(ms)) return ms;
  }
  return 0;
}

/**
 * A response body of at most `maxBytes`: reading stops (and fails) at the
 * first byte beyond, so a relay cannot make the client buffer more than the
 * descriptor allows. Returns what was read when it ends within the bound.
 */
export async function readAtMost(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  const tooLarge = (got: number | string) => new ProtocolError('bad_response', `response body larger than the ${maxBytes} bytes expected`, { expected: `<= ${maxBytes}`, got });
  if (declared > maxBytes) throw tooLarge(declared);
  // Chunks, not one buffer of maxBytes: the bound comes from a descriptor, which may itself lie.
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(`> ${maxBytes}`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
