/**
 * Circuit privacy for relay responses (see docs/split-inference.md): what a
 * relay publishes in its model descriptor and a client must agree to. The
 * relay's side is server/response-rerandomizer.ts.
 *
 * - `rerandomize`: add a fresh public-key encryption of zero under the
 *   client's key. The response's second polynomial is otherwise a
 *   deterministic function of the client's own ciphertexts, its Galois keys
 *   and the weights; after the addition it is an RLWE sample the client
 *   cannot predict. The decrypted noise still carries the evaluation noise.
 * - `flood`: re-randomize with an encryption of Gaussian noise instead of
 *   zero: standard deviation `floodSigma` (output units) in the real and the
 *   imaginary part of every slot, i.e. an i.i.d. Gaussian of standard
 *   deviation floodSigma·Δ·sqrt(2/N) on every coefficient of the decrypted
 *   polynomial, so it covers the whole evaluation noise and not only the half
 *   the client's decoder reads (real slots).
 */
export const RESPONSE_PRIVACY_MODES = ['off', 'rerandomize', 'flood'] as const;
export type ResponsePrivacyMode = (typeof RESPONSE_PRIVACY_MODES)[number];

export interface ResponsePrivacy {
  readonly mode: ResponsePrivacyMode;
  /** Flooding: standard deviation of the added noise per slot (real and imaginary part), in output units. */
  readonly floodSigma?: number;
}

/** Whether a relay in this mode needs the client's public key in the session. */
export function needsPublicKey(privacy: ResponsePrivacy | undefined): boolean {
  return privacy !== undefined && privacy.mode !== 'off';
}
