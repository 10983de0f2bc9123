import type { ContextData } from 'node-seal';

/**
 * SEAL's WebAssembly memory, for kernels that work on SEAL's objects in place
 * (plain-mac.ts). node-seal does not expose it, so in Node SEAL is
 * instantiated through Emscripten's documented `instantiateWasm` hook, which
 * hands over the instance and with it the exported memory. Browsers load
 * SEAL as before (their bundlers place the .wasm), and have no such memory:
 * callers fall back to SEAL's own operations.
 */

/** Emscripten's hook: instantiate the module with `imports`, then report the instance. */
export type InstantiateWasm = (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => object;

const memories = new WeakMap<object, WebAssembly.Memory>();

/** The memory of a loaded SEAL module, when it was loaded with `nodeInstantiator`. */
export function sealMemory(seal: object): WebAssembly.Memory | undefined {
  return memories.get(seal);
}

/** Record `memory` as the memory of the SEAL module `seal`. */
export function rememberSealMemory(seal: object, memory: WebAssembly.Memory): void {
  memories.set(seal, memory);
}

interface NodeBuiltins {
  readFileSync(path: URL): Uint8Array;
}

/**
 * In Node, a hook that reads node-seal's default `seal_throws.wasm` from disk
 * and instantiates it synchronously (so a failure rejects SEAL's load instead
 * of leaving it pending), passing the exported memory to `onMemory`.
 * Elsewhere (browsers, or a runtime without `import.meta.resolve`): undefined.
 */
export function nodeInstantiator(onMemory: (memory: WebAssembly.Memory) => void): InstantiateWasm | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function' || typeof import.meta.resolve !== 'function') return undefined;
  let wasm: URL;
  try {
    wasm = new URL('seal_throws.wasm', import.meta.resolve('node-seal'));
  } catch {
    return undefined;
  }
  if (wasm.protocol !== 'file:') return undefined;
  const fs = proc.getBuiltinModule('node:fs') as NodeBuiltins;
  return (imports, done) => {
    const module = new WebAssembly.Module(fs.readFileSync(wasm) as Uint8Array<ArrayBuffer>);
    const instance = new WebAssembly.Instance(module, imports);
    const memory = Object.values(instance.exports).find((e): e is WebAssembly.Memory => e instanceof WebAssembly.Memory);
    if (memory) onMemory(memory);
    done(instance, module);
    return instance.exports;
  };
}

/** The C++ object's address behind an Embind handle (its documented-internal `$$.ptr`). */
export function handlePointer(handle: unknown): number {
  const ptr = (handle as { $$?: { ptr?: unknown } }).$$?.ptr;
  if (typeof ptr !== 'number' || ptr === 0) throw new TypeError('not a live SEAL object');
  return ptr;
}

/** The primes of a context level, in SEAL's order (the special prime last at the key level). Frees `data`. */
export function primesOf(data: ContextData): bigint[] {
  const parms = data.parms();
  const moduli = parms.coeffModulus();
  try {
    return Array.from({ length: moduli.size() }, (_, i) => {
      const modulus = moduli.get(i);
      if (!modulus) throw new RangeError(`no prime ${i}`);
      try {
        return modulus.value();
      } finally {
        modulus.delete();
      }
    });
  } finally {
    moduli.delete();
    parms.delete();
    data.delete();
  }
}

/** The smallest offset found in every object (`offsetsIn` lists one object's matching offsets), or null. */
export function firstCommonOffset<T>(objects: readonly T[], offsetsIn: (object: T) => number[]): number | null {
  let common: number[] | null = null;
  for (const object of objects) {
    const found = offsetsIn(object);
    common = common === null ? found : common.filter((o) => found.includes(o));
  }
  return common && common.length > 0 ? Math.min(...common) : null;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A kernel's module bytes from its generated base64 constant. */
export function base64Bytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
