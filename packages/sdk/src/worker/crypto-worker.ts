/**
 * Entry of the crypto worker (a Web Worker in browsers, a worker_threads
 * Worker in Node). It exposes one narrow API through comlink; the secret key
 * never leaves this realm except wrapped into storage.
 */
import { expose, transfer } from 'comlink';
import type { LinearPlan } from '@fhe-llm/core';
import type { ProgressEvent, StorageOption } from '../types.ts';
import { CryptoService } from './crypto-service.ts';
import './error-transfer.ts';
import type { StoredSession } from '../storage/key-vault.ts';

const service = new CryptoService();

/** What the main thread may call. Errors cross as plain objects with `name`, `code` and `message`. */
const api = {
  init: (options: { wasmUrl?: string; storage?: StorageOption }) => service.init(options),
  openKeys: async (ring: string, presetId: string, galoisSteps: number[], onProgress?: (e: ProgressEvent) => void) =>
    service.openKeys(ring, presetId, galoisSteps, onProgress),
  saveSession: (ring: string, session: StoredSession | undefined) => service.saveSession(ring, session),
  freshEvaluationKeys: (ring: string, presetId: string, galoisSteps: number[]) => {
    const keys = service.freshEvaluationKeys(ring, presetId, galoisSteps);
    return transfer(keys, [keys.buffer as ArrayBuffer]);
  },
  status: (ring: string) => service.status(ring),
  forget: (ring: string) => service.forget(ring),
  encryptStep: (ring: string, plan: LinearPlan, vectors: Float64Array[]) => {
    const body = service.encryptStep(ring, plan, vectors);
    return transfer(body, [body.buffer as ArrayBuffer]);
  },
  decryptStep: (ring: string, plan: LinearPlan, vectors: number, body: Uint8Array) => service.decryptStep(ring, plan, vectors, body),
  close: () => service.close(),
};

export type CryptoWorkerApi = typeof api;

const isBrowserWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
if (isBrowserWorker) {
  expose(api);
} else {
  const threads = 'node:worker_threads';
  const adapter = 'comlink/dist/esm/node-adapter.mjs';
  const { parentPort } = (await import(/* @vite-ignore */ threads)) as typeof import('node:worker_threads');
  const { default: nodeEndpoint } = await import(/* @vite-ignore */ adapter);
  if (parentPort) expose(api, nodeEndpoint(parentPort));
}
