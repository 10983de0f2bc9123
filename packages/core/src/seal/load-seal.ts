import initialize from 'node-seal';
import type { MainModule } from 'node-seal';
import { nodeInstantiator, rememberSealMemory } from './seal-memory.ts';

export type Seal = MainModule;

export interface LoadSealOptions {
  /**
   * Where to fetch `seal_throws.wasm` from. Default: the URL the bundler gave
   * the file (Vite, webpack 5, Rollup), or beside node-seal's JavaScript in
   * Node and unbundled ESM. Set it when the file is served elsewhere, e.g. a CDN.
   */
  wasmUrl?: string | URL;
}

let loading: Promise<Seal> | undefined;
let loadedWith: string | undefined;

/**
 * Load SEAL's WebAssembly once per realm (page, worker, or Node thread) and
 * share it: instantiation costs tens of milliseconds and megabytes.
 * A second call with a different `wasmUrl` is an error rather than a silent
 * second copy.
 */
export function loadSeal(options: LoadSealOptions = {}): Promise<Seal> {
  const wanted = options.wasmUrl === undefined ? undefined : String(options.wasmUrl);
  if (loading) {
    if (wanted !== undefined && wanted !== loadedWith) {
      return Promise.reject(new Error(`SEAL is already loaded from ${loadedWith ?? 'the default URL'}; cannot load it again from ${wanted}`));
    }
    return loading;
  }
  loadedWith = wanted;
  // Without a wasmUrl, unset node-seal's own locateFile (`new URL(path, import.meta.url)`
  // of its entry chunk, which misses a bundler's hashed copy): Emscripten then uses its
  // literal `new URL('seal_throws.wasm', import.meta.url)`, which Vite, webpack 5 and
  // Rollup rewrite to the emitted asset and which Node resolves beside the glue code.
  const locateFile = wanted === undefined ? undefined : (path: string) => (path.endsWith('.wasm') ? wanted : path);
  // In Node, and only from node-seal's own file, SEAL is instantiated here to
  // keep its memory for the in-place kernels (seal-memory.ts, plain-mac.ts).
  // If that fails (an unusual install), SEAL loads the usual way, without them.
  let memory: WebAssembly.Memory | undefined;
  const instantiateWasm =
    wanted === undefined
      ? nodeInstantiator((m) => {
          memory = m;
        })
      : undefined;
  const plain = () => {
    memory = undefined; // never a failed instance's memory for the one that loads
    return initialize({ locateFile });
  };
  const load = instantiateWasm ? initialize({ locateFile, instantiateWasm }).catch(plain) : plain();
  loading = load.then(
    (seal) => {
      if (memory) rememberSealMemory(seal, memory);
      return seal;
    },
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}
