/**
 * Entry of the crypto worker (a Web Worker in browsers, a worker_threads
 * Worker in Node). It exposes one narrow API through comlink; the secret key
 * never leaves this realm except wrapped into storage.
 */
import { expose, transfer } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { LinearPlan } from '@fhe-llm/core';
import type { ProgressEvent, StorageOption } from '../types.ts';
import { CryptoService } from './crypto-service.ts';
import './error-transfer.ts';
import type { StoredSession } from '../storage/key-vault.ts';

const service = new CryptoService();

/**
 * Milliseconds on this thread's clock: CPU time where the runtime tells it
 * (Node's worker threads), else wall time (browsers), which is the same on
 * an idle machine and more under contention.
 */
const threadClock: () => number =
  typeof process !== 'undefined' && typeof process.threadCpuUsage === 'function'
    ? () => {
        const u = process.threadCpuUsage();
        return (u.user + u.system) / 1000;
      }
    : () => performance.now();

/** What the main thread may call. Errors cross as plain objects with `name`, `code` and `message`. */
const api = {
  init: (options: { wasmUrl?: string; storage?: StorageOption }) => service.init(options),
  openKeys: async (ring: string, presetId: string, galoisSteps: number[], onProgress?: (e: ProgressEvent) => void) => service.openKeys(ring, presetId, galoisSteps, onProgress),
  saveSession: (ring: string, session: StoredSession | undefined) => service.saveSession(ring, session),
  freshEvaluationKeys: (ring: string, presetId: string, galoisSteps: number[], withPublicKey = false) => {
    const keys = service.freshEvaluationKeys(ring, presetId, galoisSteps, withPublicKey);
    return transfer(keys, [keys.buffer as ArrayBuffer]);
  },
  withPublicKey: (ring: string, envelope: Uint8Array) => {
    const keys = service.withPublicKey(ring, envelope);
    return transfer(keys, [keys.buffer as ArrayBuffer]);
  },
  status: (ring: string) => service.status(ring),
  forget: (ring: string) => service.forget(ring),
  // `ms`: time this worker spent on the call (the client's crypto CPU cost, messaging excluded).
  encryptStep: (ring: string, plan: LinearPlan, vectors: Float64Array[]) => {
    const started = threadClock();
    const body = service.encryptStep(ring, plan, vectors);
    const result = { body, ms: threadClock() - started };
    return transfer(result, [body.buffer as ArrayBuffer]);
  },
  decryptStep: (ring: string, plan: LinearPlan, vectors: number, body: Uint8Array) => {
    const started = threadClock();
    const outputs = service.decryptStep(ring, plan, vectors, body);
    return { outputs, ms: threadClock() - started };
  },
  close: () => service.close(),
};

export type CryptoWorkerApi = typeof api;

const isBrowserWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
if (isBrowserWorker) {
  expose(api);
} else {
  // No top-level await and no import() of Node modules: bundlers build this
  // file as a classic (iife) worker by default and must find nothing to shim.
  const { parentPort } = globalThis.process.getBuiltinModule('node:worker_threads');
  if (parentPort) expose(api, nodeEndpoint(parentPort));
}
