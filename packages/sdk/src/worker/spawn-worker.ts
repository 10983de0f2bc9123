import { wrap, type Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { CryptoWorkerApi } from './crypto-worker.ts';
import './error-transfer.ts';

export interface SpawnedWorker {
  api: Remote<CryptoWorkerApi>;
  terminate(): Promise<void>;
}

export interface SpawnOptions {
  /** The worker module's URL when the page must not derive it; see CreateClientOptions.workerUrl. */
  workerUrl?: string | URL;
}

const WORKER_NAME = 'fhe-llm-crypto';

/**
 * Start the crypto worker: a module Web Worker in browsers (bundlers such as
 * Vite and webpack 5 bundle the worker from this `new Worker(new URL(...))`
 * pattern), a worker_threads Worker in Node running the same file.
 */
export async function spawnCryptoWorker(options: SpawnOptions = {}): Promise<SpawnedWorker> {
  if (typeof window !== 'undefined' || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') {
    const crossOrigin = options.workerUrl !== undefined ? options.workerUrl : servedFromAnotherOrigin() ? siblingWorkerUrl() : undefined;
    const worker = crossOrigin === undefined ? new Worker(new URL('./crypto-worker.ts', import.meta.url), { type: 'module', name: WORKER_NAME }) : blobModuleWorker(crossOrigin);
    return { api: wrap<CryptoWorkerApi>(worker), terminate: async () => worker.terminate() };
  }
  // getBuiltinModule, not import(): bundlers see no Node import to resolve or shim. The worker's URL
  // is not a literal either: a bundler would copy this Node-only branch's file into a browser build
  // (Vite inlined crypto-worker.ts's source as a data: URL while it was under 4 kB).
  const { Worker: NodeWorker } = globalThis.process.getBuiltinModule('node:worker_threads');
  const worker = new NodeWorker(siblingWorkerUrl());
  return {
    api: wrap<CryptoWorkerApi>(nodeEndpoint(worker)),
    terminate: async () => void (await worker.terminate()),
  };
}

/**
 * True when this module was loaded over http(s) from another origin than the
 * page (plain ESM from a CDN): browsers refuse a cross-origin worker script.
 * Bundlers that inline `import.meta.url` as a file: URL (webpack) stay false.
 */
function servedFromAnotherOrigin(): boolean {
  if (typeof location === 'undefined') return false;
  const here = new URL(import.meta.url);
  return (here.protocol === 'http:' || here.protocol === 'https:') && here.origin !== location.origin;
}

/** The worker file beside this one; a variable, so bundlers do not mistake it for an asset. */
function siblingWorkerUrl(): URL {
  const file = import.meta.url.endsWith('.ts') ? './crypto-worker.ts' : './crypto-worker.js';
  return new URL(file, import.meta.url);
}

/**
 * A same-origin blob module worker whose only line imports the real worker
 * module: module workers may import cross-origin scripts (with CORS, as CDNs
 * serve them) even though they may not start from one. The page's CSP must
 * allow `worker-src blob:`.
 */
function blobModuleWorker(url: string | URL): Worker {
  const absolute = new URL(url, typeof location === 'undefined' ? undefined : location.href).href;
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(absolute)};\n`], { type: 'text/javascript' }));
  return new Worker(shim, { type: 'module', name: WORKER_NAME });
}
