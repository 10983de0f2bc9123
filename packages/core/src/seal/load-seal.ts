import initialize from 'node-seal';
import type { MainModule } from 'node-seal';

export type Seal = MainModule;

export interface LoadSealOptions {
  /**
   * Where to fetch `seal_throws.wasm` from. Default: next to node-seal's own
   * JavaScript (resolved through `import.meta.url`, which Node and Vite both
   * handle). Set it when a bundler or a CDN serves the file elsewhere.
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
  const locateFile = wanted === undefined ? undefined : (path: string) => (path.endsWith('.wasm') ? wanted : path);
  loading = initialize(locateFile ? { locateFile } : {}).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
