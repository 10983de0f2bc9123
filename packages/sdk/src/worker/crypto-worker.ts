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
 * This thread's CPU time in microseconds where the runtime tells it (Node's
 * worker threads), else undefined (browsers: calls are timed by the wall
 * clock, the same on an idle machine and more under contention).
 */
const threadCpuMicros: (() => number) | undefined =
  typeof process !== 'undefined' && typeof process.threadCpuUsage === 'function'
    ? () => {
        const u = process.threadCpuUsage();
        return u.user + u.system;
      }
    : undefined;

/**
 * The thread's CPU when its last call ended. Linux advances a thread's CPU
 * time in scheduler ticks (4 ms here) while it runs, so a call's own reading
 * misses the time since the last tick and the next reading gets it: a step
 * call of a few milliseconds read 0 or 4. So each step call reports the CPU
 * since the previous call ended (its own message included), and the readings
 * add up to what the thread used. Other calls (key generation) only move the
 * mark.
 */
let cpuAtLastCall = threadCpuMicros?.() ?? 0;

/** Run a step call; `ms` is the client's crypto CPU cost for it (see above), messaging between calls included. */
function timed<T>(run: () => T): { value: T; ms: number } {
  const wallStarted = performance.now();
  const value = run();
  if (!threadCpuMicros) return { value, ms: performance.now() - wallStarted };
  const now = threadCpuMicros();
  const ms = (now - cpuAtLastCall) / 1000;
  cpuAtLastCall = now;
  return { value, ms };
}

/** Move the CPU mark past a call that is not a step's (key generation, storage). */
async function untimed<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } finally {
    if (threadCpuMicros) cpuAtLastCall = threadCpuMicros();
  }
}

/** What the main thread may call. Errors cross as plain objects with `name`, `code` and `message`. */
const api = {
  init: (options: { wasmUrl?: string; storage?: StorageOption }) => untimed(() => service.init(options)),
  openKeys: async (ring: string, presetId: string, galoisSteps: number[], onProgress?: (e: ProgressEvent) => void) => untimed(() => service.openKeys(ring, presetId, galoisSteps, onProgress)),
  saveSession: (ring: string, session: StoredSession | undefined) => service.saveSession(ring, session),
  freshEvaluationKeys: async (ring: string, presetId: string, galoisSteps: number[], withPublicKey = false) => {
    const keys = await untimed(() => service.freshEvaluationKeys(ring, presetId, galoisSteps, withPublicKey));
    return transfer(keys, [keys.buffer as ArrayBuffer]);
  },
  withPublicKey: async (ring: string, envelope: Uint8Array) => {
    const keys = await untimed(() => service.withPublicKey(ring, envelope));
    return transfer(keys, [keys.buffer as ArrayBuffer]);
  },
  status: (ring: string) => service.status(ring),
  forget: (ring: string) => service.forget(ring),
  // `ms`: the client's crypto CPU cost of the call (see timed).
  encryptStep: (ring: string, plan: LinearPlan, vectors: Float64Array[]) => {
    const { value: body, ms } = timed(() => service.encryptStep(ring, plan, vectors));
    return transfer({ body, ms }, [body.buffer as ArrayBuffer]);
  },
  decryptStep: (ring: string, plan: LinearPlan, vectors: number, body: Uint8Array) => {
    const { value: outputs, ms } = timed(() => service.decryptStep(ring, plan, vectors, body));
    return { outputs, ms };
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
