import { readFileSync } from 'node:fs';
import wabtInit from 'wabt';

/** The kernels written as WebAssembly text, in packages/core/src/seal/<name>.wat. */
export const WASM_KERNELS = ['plain-mac', 'rotation-sum'] as const;
export type WasmKernel = (typeof WASM_KERNELS)[number];

const sealDir = new URL('../packages/core/src/seal/', import.meta.url);

/**
 * A kernel's text with each `;; #include <file>.wat` line replaced by that
 * file (beside it): functions the kernels share, each assembled into both
 * modules (a module cannot call another's functions without imports).
 */
function kernelSource(file: string): string {
  return readFileSync(new URL(file, sealDir), 'utf8').replace(/^[ \t]*;; #include ([\w-]+\.wat)[ \t]*$/gm, (_, included: string) => kernelSource(included));
}

/** A kernel's .wat assembled by wabt, without names or debug sections (deterministic bytes). */
export async function assembleKernel(name: WasmKernel): Promise<Uint8Array> {
  const source = kernelSource(`${name}.wat`);
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(`${name}.wat`, source);
  try {
    parsed.validate();
    return parsed.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    parsed.destroy();
  }
}

/** The exported base64 constant of a kernel's generated file: plain-mac → PLAIN_MAC_WASM_BASE64. */
export function kernelConstant(name: WasmKernel): string {
  return `${name.replaceAll('-', '_').toUpperCase()}_WASM_BASE64`;
}
