/**
 * A stand-in for `@fhe-llm/sdk` for working on the page's look without a
 * relay or any cryptography: `FHE_LLM_DEMO_MOCK=1 vite` aliases the SDK to
 * this file. Nothing here is encrypted; it only replays a story with
 * plausible timings, sizes and progress. `?mock=relay-down` and
 * `?mock=quota` show the error states. Never part of `npm start`.
 */
import type { Completion, CompletionChunk, CompletionParams, CompletionStream, CreateClientOptions, FheLlmClient, KeyStatus, ModelInfo } from '@fhe-llm/sdk';

const STORY =
  ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do.";
const MODEL: ModelInfo = {
  id: 'stories260K',
  object: 'model',
  preset: 'ckks-flat-n4096-q109',
  config: { dim: 64, nLayers: 5, vocabSize: 512, seqLen: 512 },
  roundTripsPerToken: 16,
};
const mode = new URLSearchParams(location.search).get('mock');
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new DOMException('stopped', 'AbortError'));
    });
  });
const hex = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');

function relayError(name: string, code: string, message: string, status?: number): Error {
  return Object.assign(new Error(message), { name, code, status });
}

export function createClient(options: CreateClientOptions): FheLlmClient {
  const keyName = (model: string) => `mock-keys:${model}`;
  let session = false;

  async function ensureKeys(model: string, signal?: AbortSignal): Promise<void> {
    if (!localStorage.getItem(keyName(model))) {
      for (let i = 0; i <= 10; i++) {
        options.onProgress?.({ phase: 'generating-keys', model, progress: i / 10, message: 'Galois keys' });
        await sleep(120, signal);
      }
      options.onProgress?.({ phase: 'storing-keys', model, progress: 1, message: 'IndexedDB' });
      localStorage.setItem(keyName(model), new Date().toISOString());
    }
    if (!session) {
      if (mode === 'relay-down') throw relayError('RelayUnavailableError', 'relay_unavailable', 'cannot reach the relay at /v1/sessions; is it running?');
      for (let i = 0; i <= 5; i++) {
        options.onProgress?.({ phase: 'uploading-keys', model, progress: i / 5, message: '14 MB' });
        await sleep(100, signal);
      }
      session = true;
    }
    options.onProgress?.({ phase: 'ready', model, progress: 1, message: 'ready' });
  }

  async function* stream(params: CompletionParams): AsyncGenerator<CompletionChunk> {
    await ensureKeys(params.model, params.signal);
    if (mode === 'quota') throw relayError('RelayError', 'quota_exceeded', 'this relay allows 200 tokens per hour per visitor', 429);
    const pieces = STORY.match(/\s*[^\s]+/g) ?? [];
    const count = Math.min(params.max_tokens ?? 64, pieces.length);
    for (let i = 0; i < count; i++) {
      for (let trip = 0; trip < MODEL.roundTripsPerToken; trip++) {
        const ms = (i === 0 ? 60 : 18) + Math.random() * 10;
        await sleep(ms, params.signal);
        options.onRoundTrip?.({
          model: params.model,
          step: i,
          stepId: `layer${trip >> 2}.${['qkv', 'wo', 'w13', 'w2'][trip % 4]}`,
          vectors: 1,
          bytesUp: 131_000 * (trip % 4 === 2 ? 2 : 1),
          bytesDown: 65_500 * (trip % 4 === 2 ? 2 : 1),
          upHash: hex(),
          downHash: hex(),
          ms,
          relayMs: ms * 0.6,
          cryptoMs: ms * 0.2,
        });
      }
      yield {
        id: 'cmpl-mock',
        object: 'text_completion',
        created: Math.floor(Date.now() / 1000),
        model: params.model,
        choices: [{ index: 0, text: pieces[i], finish_reason: i === count - 1 ? 'length' : null, token_id: 300 + i }],
      };
    }
  }

  return {
    ready: (async () => {
      options.onProgress?.({ phase: 'loading-wasm', progress: 0, message: 'seal_throws.wasm' });
      await sleep(250);
      options.onProgress?.({ phase: 'loading-wasm', progress: 1, message: 'seal_throws.wasm' });
    })(),
    models: {
      async list() {
        await sleep(100);
        if (mode === 'relay-down') throw relayError('RelayUnavailableError', 'relay_unavailable', 'cannot reach the relay at /v1/models; is it running?');
        return [MODEL];
      },
    },
    completions: {
      create: (async (params: CompletionParams): Promise<CompletionStream> => {
        let settle: (c: Completion) => void = () => {};
        const completion = new Promise<Completion>((resolve) => (settle = resolve));
        const chunks = stream(params);
        return {
          completion,
          async *[Symbol.asyncIterator]() {
            let text = '';
            for await (const chunk of chunks) {
              text += chunk.choices[0].text;
              yield chunk;
            }
            settle({
              id: 'cmpl-mock',
              object: 'text_completion',
              created: Math.floor(Date.now() / 1000),
              model: params.model,
              choices: [{ index: 0, text, finish_reason: 'length', token_ids: [] }],
              usage: { prompt_tokens: 5, completion_tokens: 0, total_tokens: 5 },
              fhe: { round_trips: 0, bytes_up: 0, bytes_down: 0, ms: 0 },
            } as unknown as Completion);
          },
        };
      }) as FheLlmClient['completions']['create'],
    },
    keys: {
      async status(model: string): Promise<KeyStatus> {
        const createdAt = localStorage.getItem(keyName(model)) ?? undefined;
        return { model, stored: createdAt !== undefined, createdAt, evaluationKeyBytes: createdAt ? 14_200_000 : undefined, session };
      },
      async rotate(model: string) {
        localStorage.removeItem(keyName(model));
        session = false;
        await ensureKeys(model);
      },
      async forget(model: string) {
        localStorage.removeItem(keyName(model));
        session = false;
      },
    },
    async close() {},
  };
}
