import { readFileSync } from 'node:fs';
import wabtInit from 'wabt';

/** plain-mac.wat assembled by wabt, without names or debug sections (deterministic bytes). */
export async function assemblePlainMac(): Promise<Uint8Array> {
  const source = readFileSync(new URL('../packages/core/src/seal/plain-mac.wat', import.meta.url), 'utf8');
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('plain-mac.wat', source);
  try {
    parsed.validate();
    return parsed.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    parsed.destroy();
  }
}
