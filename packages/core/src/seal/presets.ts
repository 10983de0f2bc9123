import { PresetError } from '../errors/preset-error.ts';
import type { Seal } from './load-seal.ts';

/**
 * A CKKS parameter preset. The name says the ring degree and the total
 * coefficient-modulus bits; presets that are not 128-bit secure start with
 * `insecure-` and exist only to make tests fast.
 *
 * Two evaluation schemes, chosen by the number of data primes:
 *
 * - Several data primes (`rescales`): the client encrypts at the top level
 *   with scale 2^inputScaleBits, the relay multiplies by weights encoded at
 *   2^weightScaleBits, rotates and sums the products while they still sit at
 *   the top level (key-switching noise is then tiny relative to the scale),
 *   rescales once and switches down to the last level before replying.
 * - One data prime (`flat`): nothing is ever rescaled. Products stay at scale
 *   2^(in+w) and every rotation is a one-prime key switch, about half the cost
 *   of a two-prime one. The price is headroom: 2^(in+w) times the largest
 *   output must fit in the one prime, so each operator's plan picks its own
 *   scales from its calibrated output bound (see `flatScales`). Key switching
 *   stays precise only when the special prime is at least the data prime.
 */
export interface PresetParameters {
  readonly id: string;
  readonly polyModulusDegree: number;
  /** Bit sizes of the coefficient-modulus primes; the last one is SEAL's special (key-switching) prime. */
  readonly coeffModulusBits: readonly number[];
  /** Input and weight scales; for a flat preset, the defaults for an operator without a known output bound. */
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
  /**
   * Measured noise per slot, rms, in units of the scale (bench:linear's
   * noise line): a fresh symmetric encryption, the rounding of an encoded
   * weight, and what one rotation's key switch adds. A flat preset's scales
   * are balanced with them (operatorScales), and the rotation noise decides
   * whether the relay may rotate a client's input (Preset.relayRotatesInput).
   * Required of flat presets; rescaling ones rotate near the prime's scale.
   */
  readonly noise?: { readonly encryption: number; readonly encoding: number; readonly rotation: number };
  /**
   * Measured primitive costs on a 2-core machine (ms), used by the planner's
   * cost model. `multiplyPlainMs` is SEAL's own multiply_plain, although the
   * relay adds all but the first term of each sum of products about five
   * times cheaper (plain-mac.ts): priced at that, the planner picks GPT-2
   * plans that upload half as much but hold about 430 MB more plaintexts,
   * over the 6 GiB target (measured, docs/benchmarks.md). Until the planner
   * prices memory, products keep SEAL's price.
   */
  readonly cost: {
    readonly rotateMs: number;
    /** A rotation at the last level (one data prime). */
    readonly rotateLastLevelMs: number;
    readonly multiplyPlainMs: number;
    readonly encryptMs: number;
    readonly decryptMs: number;
    /**
     * Flat presets: one term of a sum of rotations with a shared key switch
     * (rotation-sum.ts: two NTTs and four multiply-adds), and that sum's one
     * mod-down. Required of flat presets, whose plans sum their giant steps.
     */
    readonly summedRotationMs?: number;
    readonly modDownMs?: number;
    /** Flat presets: one more rotation of a ciphertext already decomposed (a hoisted fold: a permutation and four multiply-adds). */
    readonly hoistedRotationMs?: number;
  };
}

/** A preset checked for internal consistency, with derived facts. */
export interface Preset extends PresetParameters {
  readonly slots: number;
  /** One data prime: no rescale, per-operator scales (see the file comment). */
  readonly flat: boolean;
  /**
   * Whether plans may have the relay rotate the client's input (baby steps on
   * the relay) instead of the client uploading every shift. Always for
   * rescaling presets (rotations happen at a scale near the prime). For a flat
   * preset only when one rotation adds at most MAX_ROTATED_INPUT_ERROR of
   * relative error at the preset's input scale, which operatorScales then
   * never goes below.
   */
  readonly relayRotatesInput: boolean;
  /** Data primes (everything but the special prime). */
  readonly dataPrimeBits: readonly number[];
  /** Scale of a response (after the single rescale when the preset rescales), approximately 2^outputScaleBits. */
  readonly outputScaleBits: number;
  /** Largest |value| a response at the default scales can hold without wrapping, with a safety factor of 2. */
  readonly outputHeadroom: number;
}

/** The preset relays and clients use unless told otherwise. */
export const DEFAULT_PRESET = 'ckks-flat-n4096-q109';

const PRESET_LITERALS: readonly PresetParameters[] = [
  {
    // One 54-bit data prime under a 55-bit special prime: the most a 128-bit
    // N=4096 ring allows, and the special prime must not be the smaller one
    // (with {60, 49} key switching costs 0.19 of error). Measured here: a
    // rotation 0.9-1.1 ms and a plaintext product 0.06-0.09 ms, against
    // 1.5-2.6 ms and 0.2-0.3 ms for ckks-n4096-q109 at its top level.
    id: 'ckks-flat-n4096-q109',
    polyModulusDegree: 4096,
    coeffModulusBits: [54, 55],
    inputScaleBits: 23,
    weightScaleBits: 23,
    securityLevel: 128,
    rotateAtLastLevel: false,
    // Rotation noise at 2^23 is 2.7e-4 of the input: the relay never rotates it.
    noise: { encryption: 150, encoding: 11, rotation: 2300 },
    cost: { rotateMs: 1.0, rotateLastLevelMs: 1.0, multiplyPlainMs: 0.075, encryptMs: 0.8, decryptMs: 0.3, summedRotationMs: 0.4, modDownMs: 0.35, hoistedRotationMs: 0.08 },
  },
  {
    // For large models: one 60-bit data prime under a 60-bit special prime
    // (120 of the 218 bits SEAL allows at N=8192 for 128-bit security). Six
    // more bits than the N=4096 flat preset buy an input scale of 2^28, where
    // one rotation's key switch (about 7,300-12,500 rms, tail to 7.9e5) is
    // under 5e-5 of the input, so the relay rotates the input and the client
    // uploads one ciphertext per input tile instead of every baby-step
    // shift; 4096 slots hold GPT-2's 3072- and 3840-wide vectors whole.
    // Measured here: a rotation 1.5-1.7 ms, a plaintext product 0.155-0.21 ms.
    id: 'ckks-flat-n8192-q120',
    polyModulusDegree: 8192,
    coeffModulusBits: [60, 60],
    inputScaleBits: 28,
    weightScaleBits: 23,
    securityLevel: 128,
    rotateAtLastLevel: false,
    noise: { encryption: 210, encoding: 26, rotation: 12_500 },
    cost: { rotateMs: 1.5, rotateLastLevelMs: 1.5, multiplyPlainMs: 0.155, encryptMs: 1.7, decryptMs: 0.8, summedRotationMs: 0.65, modDownMs: 0.7, hoistedRotationMs: 0.16 },
  },
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

/**
 * Most relative error (rms, of the input's scale) one relay rotation of a
 * flat preset's input may add: 2^-14. A rotation at ckks-flat-n4096-q109's
 * 2^23 adds 2.7e-4 (on stories260K's logits 6e-3 of error instead of 1.6e-3,
 * so its plans never rotate the input); at ckks-flat-n8192-q120's 2^28, 4e-5
 * (GPT-2's steps: see docs/benchmarks.md).
 */
export const MAX_ROTATED_INPUT_ERROR = 2 ** -14;

function checkPreset(p: PresetParameters): Preset {
  const bits = p.coeffModulusBits;
  if (!Number.isInteger(Math.log2(p.polyModulusDegree))) {
    throw new PresetError('bad_preset', `${p.id}: degree must be a power of two`, { got: p.polyModulusDegree });
  }
  if (bits.length < 2) throw new PresetError('bad_preset', `${p.id}: need a data prime and a special prime`, { got: bits });
  const insecure = p.id.startsWith('insecure-');
  if (insecure !== (p.securityLevel === 0)) {
    throw new PresetError('bad_preset', `${p.id}: presets below 128-bit security must be named insecure-...`);
  }
  const dataPrimeBits = bits.slice(0, -1);
  const flat = dataPrimeBits.length === 1;
  if (flat && bits[1] < bits[0]) {
    throw new PresetError('bad_preset', `${p.id}: a flat preset's special prime must be at least its data prime (key-switching noise)`, { expected: `>= ${bits[0]}`, got: bits[1] });
  }
  if (flat && p.rotateAtLastLevel) throw new PresetError('bad_preset', `${p.id}: a flat preset has only one level`);
  if (flat && !p.noise) throw new PresetError('bad_preset', `${p.id}: a flat preset needs its measured noise (its scales are balanced with it)`);
  if (flat && (p.cost.summedRotationMs === undefined || p.cost.modDownMs === undefined || p.cost.hoistedRotationMs === undefined)) {
    throw new PresetError('bad_preset', `${p.id}: a flat preset needs the measured cost of summed rotations (its plans sum their giant steps)`);
  }
  const lastData = dataPrimeBits[dataPrimeBits.length - 1];
  const outputScaleBits = p.inputScaleBits + p.weightScaleBits - (flat ? 0 : lastData);
  const topBits = dataPrimeBits.reduce((a, b) => a + b, 0);
  if (p.inputScaleBits + p.weightScaleBits >= topBits - 1) {
    throw new PresetError('bad_preset', `${p.id}: product scale leaves no headroom`, { expected: `< ${topBits - 1}`, got: p.inputScaleBits + p.weightScaleBits });
  }
  const outputHeadroom = 2 ** (dataPrimeBits[0] - outputScaleBits - 2);
  const relayRotatesInput = !flat || (p.noise !== undefined && p.noise.rotation / 2 ** p.inputScaleBits <= MAX_ROTATED_INPUT_ERROR);
  return { ...p, slots: p.polyModulusDegree / 2, flat, relayRotatesInput, dataPrimeBits, outputScaleBits, outputHeadroom };
}

const PRESETS: ReadonlyMap<string, Preset> = new Map(PRESET_LITERALS.map((p) => [p.id, checkPreset(p)]));

/** Every preset id, production ones first. */
export const presetIds: readonly string[] = [...PRESETS.keys()];

/** The checked preset for `id`, or a PresetError naming the known ids. */
/** A pre-encoded plaintext's size under `preset`: 8 bytes per coefficient per data prime. */
export function plaintextBytesOf(preset: Pick<Preset, 'polyModulusDegree' | 'dataPrimeBits'>): number {
  return 8 * preset.polyModulusDegree * preset.dataPrimeBits.length;
}

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

/** The scales one linear operator encrypts its input and encodes its weights at. */
export interface OperatorScales {
  readonly inputScaleBits: number;
  readonly weightScaleBits: number;
}

/**
 * A flat preset's response must hold FLAT_HEADROOM_FACTOR x the calibrated
 * output bound. The client rejects outputs beyond 4x the bound, so a value
 * that wraps around the prime decrypts to something it rejects, never to a
 * plausible wrong number (unless it exceeds the bound some 15-fold).
 */
export const FLAT_HEADROOM_FACTOR = 8;
/** Below 2^36 for input x weight, encoding noise reaches about 1e-3: refuse instead. */
export const FLAT_MIN_PRODUCT_BITS = 36;

/** What a plan knows about an operator's values: its calibrated output bound and, when known, norms. */
export interface OperatorBounds {
  /** Largest |output|. */
  readonly output: number;
  /** Largest L2 norm of an input vector. */
  readonly inputNorm?: number;
  /** Largest L2 norm of a row of W. */
  readonly rowNorm?: number;
}

/**
 * An operator's error is about inputNoise * |W row| / 2^in + encoding * |x| / 2^w
 * (Preset.noise): inputNoise is a fresh encryption's, or a rotation's when
 * the relay rotates the input. Products, at scale 2^(in+w), are rotated
 * freely. At N=4096 with {54, 55}: encryption 150, encoding 11, a rotation
 * 2,300 with a tail to 70,000 (why that preset never rotates the input).
 */
/** Neither scale goes below this many bits, whatever the balance says. */
const MIN_SCALE_BITS = 14;

/**
 * Scales for an operator whose outputs stay within `bounds.output` (its
 * calibrated bound). Rescaling presets use their fixed scales and only check
 * that the bound fits their headroom. A flat preset spends all the headroom
 * the bound leaves: the product scale is the largest power of two with
 * 2^(in+w) * FLAT_HEADROOM_FACTOR * bound < 2^(q-1). It is split to balance
 * the two noise terms above when both norms are known (2^in / 2^w =
 * (ENCRYPTION_NOISE |W|) / (ENCODING_NOISE |x|): a one-hot input wants most of
 * the scale, a long activation vector less), evenly otherwise. Throws
 * PresetError 'out_of_range' when the bound leaves too little precision.
 */
export function operatorScales(preset: Preset, bounds?: OperatorBounds): OperatorScales {
  const fixed = { inputScaleBits: preset.inputScaleBits, weightScaleBits: preset.weightScaleBits };
  if (bounds === undefined) return fixed;
  const outputBound = bounds.output;
  if (!(outputBound > 0) || !Number.isFinite(outputBound)) {
    throw new PresetError('out_of_range', `output bound must be a positive finite number`, { got: outputBound });
  }
  if (!preset.flat) {
    if (outputBound > preset.outputHeadroom) {
      throw new PresetError('out_of_range', `outputs up to ${outputBound} exceed ${preset.id}'s headroom`, { expected: `<= ${preset.outputHeadroom}`, got: outputBound });
    }
    return fixed;
  }
  const q = preset.dataPrimeBits[0];
  const product = Math.min(q - 4, q - 2 - Math.floor(Math.log2(FLAT_HEADROOM_FACTOR * outputBound)));
  if (product < FLAT_MIN_PRODUCT_BITS) {
    const largest = 2 ** (q - 1 - FLAT_MIN_PRODUCT_BITS) / FLAT_HEADROOM_FACTOR;
    throw new PresetError('out_of_range', `outputs up to ${outputBound} leave ${preset.id} too little precision`, { expected: `<= ${largest}`, got: outputBound });
  }
  const { inputNorm, rowNorm } = bounds;
  // checkPreset requires noise of flat presets.
  const noise = preset.noise as NonNullable<Preset['noise']>;
  const inputNoise = preset.relayRotatesInput ? noise.rotation : noise.encryption;
  const balance = inputNorm && rowNorm ? Math.log2((inputNoise * rowNorm) / (noise.encoding * inputNorm)) : 0;
  // A preset whose relay rotates the input was admitted at its input scale (MAX_ROTATED_INPUT_ERROR): never below it.
  const lowest = preset.relayRotatesInput ? preset.inputScaleBits : MIN_SCALE_BITS;
  if (product - lowest < MIN_SCALE_BITS) {
    const largest = 2 ** (q - 2 - lowest - MIN_SCALE_BITS) / FLAT_HEADROOM_FACTOR;
    throw new PresetError('out_of_range', `outputs up to ${outputBound} leave ${preset.id} too little precision for its weights`, { expected: `<= ${largest}`, got: outputBound });
  }
  const inputScaleBits = Math.min(product - MIN_SCALE_BITS, Math.max(lowest, Math.round((product + balance) / 2)));
  return { inputScaleBits, weightScaleBits: product - inputScaleBits };
}
