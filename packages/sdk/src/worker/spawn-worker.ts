import { wrap, type Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { CryptoWorkerApi } from './crypto-worker.ts';
import './error-transfer.ts';

export interface SpawnedWorker {
  api: Remote<CryptoWorkerApi>;
  terminate(): Promise<void>;
}

/**
 * Start the crypto worker: a module Web Worker in browsers (Vite bundles
 * the worker from this `new URL(...)` pattern), a worker_threads Worker in
 * Node running the same file.
 */
export async function spawnCryptoWorker(): Promise<SpawnedWorker> {
  if (typeof window !== 'undefined' || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') {
    const worker = new Worker(new URL('./crypto-worker.ts', import.meta.url), { type: 'module', name: 'fhe-llm-crypto' });
    return { api: wrap<CryptoWorkerApi>(worker), terminate: async () => worker.terminate() };
  }
  // getBuiltinModule, not import(): bundlers see no Node import to resolve or shim.
  const { Worker: NodeWorker } = globalThis.process.getBuiltinModule('node:worker_threads');
  const worker = new NodeWorker(new URL('./crypto-worker.ts', import.meta.url));
  return {
    api: wrap<CryptoWorkerApi>(nodeEndpoint(worker)),
    terminate: async () => void (await worker.terminate()),
  };
}
