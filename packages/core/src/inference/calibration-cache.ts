import type { StepBounds } from '../model/model-descriptor.ts';

/**
 * Where calibrated bounds are kept between start-ups: calibration runs the
 * whole model in plaintext over sample prompts (minutes for a 15M-parameter
 * model), and its result depends only on the model's bytes and the
 * calibration settings. The relay stores it beside the model file.
 */
export interface CalibrationCache {
  read(key: string): Promise<StepBounds[] | undefined>;
  write(key: string, bounds: readonly StepBounds[]): Promise<void>;
}

/** Bumped whenever calibration could give different bounds for the same inputs. */
export const CALIBRATION_VERSION = 2;

/**
 * The cache key: SHA-256 over the calibration version, the settings (JSON)
 * and the SHA-256 of every input file in order. Each file is digested where
 * it lies (no copy of a large checkpoint). WebCrypto, so it runs in Node and
 * in browsers alike.
 */
export async function calibrationKey(files: readonly Uint8Array[], settings: unknown): Promise<string> {
  const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
  const fileDigests = await Promise.all(files.map(async (f) => hex(await crypto.subtle.digest('SHA-256', f as BufferSource))));
  const head = new TextEncoder().encode(JSON.stringify({ v: CALIBRATION_VERSION, settings, files: fileDigests }));
  return hex(await crypto.subtle.digest('SHA-256', head));
}

/** Bounds read from a cache are used only if they have the right shape. */
export function validCachedBounds(value: unknown, steps: number): value is StepBounds[] {
  if (!Array.isArray(value) || value.length !== steps) return false;
  return value.every((b) => {
    if (typeof b !== 'object' || b === null) return false;
    const r = b as Record<string, unknown>;
    const ok = (v: unknown) => typeof v === 'number' && v > 0 && Number.isFinite(v);
    return ok(r.input) && ok(r.output) && (r.inputNorm === undefined || ok(r.inputNorm));
  });
}
