import { PresetError } from '../errors/preset-error.ts';
import type { Seal } from './load-seal.ts';

/**
 * A CKKS parameter preset. The name says the ring degree and the total
 * coefficient-modulus bits; presets that are not 128-bit secure start with
 * `insecure-` and exist only to make tests fast.
 *
 * Evaluation scheme (shared by every linear operator): the client encrypts at
 * the top level with scale 2^inputScaleBits, the relay multiplies by weights
 * encoded at 2^weightScaleBits, rotates and sums the products while they still
 * sit at the top level (key-switching noise is then tiny relative to the
 * scale), rescales once and switches down to the last level before replying.
 */
export interface PresetParameters {
  readonly id: string;
  readonly polyModulusDegree: number;
  /** Bit sizes of the coefficient-modulus primes; the last one is SEAL's special (key-switching) prime. */
  readonly coeffModulusBits: readonly number[];
  readonly inputScaleBits: number;
  readonly weightScaleBits: number;
  /** 128 for production presets, 0 for `insecure-` ones. */
  readonly securityLevel: 128 | 0;
  /**
   * Rescale each giant-step partial sum and do the giant-step and fold
   * rotations at the last level, where a rotation costs a third to a half.
   * Only precise when the special prime is at least the last data prime and
   * the output scale is large (key switching adds about 2^21 in the slots):
   * true for N=8192, false for N=4096, where it would cost 1e-4 of error.
   */
  readonly rotateAtLastLevel: boolean;
  /** Measured primitive costs on a 2-core machine (ms), used by the planner's cost model. */
  readonly cost: {
    readonly rotateMs: number;
    /** A rotation at the last level (one data prime). */
    readonly rotateLastLevelMs: number;
    readonly multiplyPlainMs: number;
    readonly encryptMs: number;
    readonly decryptMs: number;
  };
}

/** A preset checked for internal consistency, with derived facts. */
export interface Preset extends PresetParameters {
  readonly slots: number;
  /** Data primes (everything but the special prime). */
  readonly dataPrimeBits: readonly number[];
  /** Scale of a response after the single rescale, approximately 2^outputScaleBits. */
  readonly outputScaleBits: number;
  /** Largest |value| a response can hold without wrapping, with a safety factor of 2. */
  readonly outputHeadroom: number;
}

const PRESET_LITERALS: readonly PresetParameters[] = [
  {
    id: 'ckks-n4096-q109',
    polyModulusDegree: 4096,
    coeffModulusBits: [40, 30, 39],
    inputScaleBits: 33,
    weightScaleBits: 27,
    securityLevel: 128,
    rotateAtLastLevel: false,
    cost: { rotateMs: 2.6, rotateLastLevelMs: 1.3, multiplyPlainMs: 0.3, encryptMs: 1.6, decryptMs: 0.6 },
  },
  {
    id: 'ckks-n8192-q218',
    polyModulusDegree: 8192,
    coeffModulusBits: [60, 49, 49, 60],
    inputScaleBits: 45,
    weightScaleBits: 49,
    securityLevel: 128,
    rotateAtLastLevel: true,
    cost: { rotateMs: 9, rotateLastLevelMs: 3, multiplyPlainMs: 0.7, encryptMs: 5, decryptMs: 1.5 },
  },
  {
    id: 'insecure-n2048-q109',
    polyModulusDegree: 2048,
    coeffModulusBits: [40, 30, 39],
    inputScaleBits: 33,
    weightScaleBits: 27,
    securityLevel: 0,
    rotateAtLastLevel: false,
    cost: { rotateMs: 1.1, rotateLastLevelMs: 0.6, multiplyPlainMs: 0.12, encryptMs: 0.8, decryptMs: 0.3 },
  },
];

function checkPreset(p: PresetParameters): Preset {
  const bits = p.coeffModulusBits;
  if (!Number.isInteger(Math.log2(p.polyModulusDegree))) {
    throw new PresetError('bad_preset', `${p.id}: degree must be a power of two`, { got: p.polyModulusDegree });
  }
  if (bits.length < 3) throw new PresetError('bad_preset', `${p.id}: need at least two data primes and a special prime`, { got: bits });
  const insecure = p.id.startsWith('insecure-');
  if (insecure !== (p.securityLevel === 0)) {
    throw new PresetError('bad_preset', `${p.id}: presets below 128-bit security must be named insecure-...`);
  }
  const dataPrimeBits = bits.slice(0, -1);
  const lastData = dataPrimeBits[dataPrimeBits.length - 1];
  const outputScaleBits = p.inputScaleBits + p.weightScaleBits - lastData;
  const topBits = dataPrimeBits.reduce((a, b) => a + b, 0);
  if (p.inputScaleBits + p.weightScaleBits >= topBits - 1) {
    throw new PresetError('bad_preset', `${p.id}: product scale leaves no headroom`, { expected: `< ${topBits - 1}`, got: p.inputScaleBits + p.weightScaleBits });
  }
  const outputHeadroom = 2 ** (dataPrimeBits[0] - outputScaleBits - 2);
  return { ...p, slots: p.polyModulusDegree / 2, dataPrimeBits, outputScaleBits, outputHeadroom };
}

const PRESETS: ReadonlyMap<string, Preset> = new Map(PRESET_LITERALS.map((p) => [p.id, checkPreset(p)]));

/** Every preset id, production ones first. */
export const presetIds: readonly string[] = [...PRESETS.keys()];

/** The checked preset for `id`, or a PresetError naming the known ids. */
export function getPreset(id: string): Preset {
  const preset = PRESETS.get(id);
  if (!preset) throw new PresetError('unknown_preset', `unknown CKKS preset "${id}"`, { expected: presetIds, got: id });
  return preset;
}

/**
 * Build SEAL's context for a preset. Production presets are built with
 * SEAL's 128-bit check on, so SEAL itself refuses them if they ever exceed
 * the HomomorphicEncryption.org bound. The caller owns (and must `.delete()`)
 * the returned context.
 */
export function createSealContext(seal: Seal, preset: Preset) {
  const parms = new seal.EncryptionParameters(seal.SchemeType.ckks);
  const moduli = seal.CoeffModulus.Create(preset.polyModulusDegree, Int32Array.from(preset.coeffModulusBits));
  try {
    parms.setPolyModulusDegree(preset.polyModulusDegree);
    parms.setCoeffModulus(moduli);
    const level = preset.securityLevel === 128 ? seal.SecLevelType.tc128 : seal.SecLevelType.none;
    const context = new seal.SEALContext(parms, true, level);
    if (!context.parametersSet()) {
      context.delete();
      throw new PresetError('rejected_by_seal', `SEAL rejected preset ${preset.id}`);
    }
    return context;
  } finally {
    moduli.delete();
    parms.delete();
  }
}
