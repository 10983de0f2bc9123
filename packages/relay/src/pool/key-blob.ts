import { PlanError, readSealHeader, WireFormatError } from '@fhe-llm/core';
import { needsPublicKey, type ResponsePrivacy } from '@fhe-llm/core/protocol';

/**
 * A session's key blob, as stored (memory or Redis) and cached by hash: the
 * client's serialized Galois keys, followed by its serialized public key
 * when the relay re-randomizes responses. SEAL serializations start with a
 * header that states their size, so the split needs no framing of its own;
 * storing one blob keeps the session stores and the worker's key cache as
 * they were (one hash names all of a session's key material).
 */
export function joinKeyBlob(galoisKeys: Uint8Array, publicKey?: Uint8Array): Uint8Array {
  if (!publicKey) return galoisKeys;
  const out = new Uint8Array(galoisKeys.length + publicKey.length);
  out.set(galoisKeys);
  out.set(publicKey, galoisKeys.length);
  return out;
}

/**
 * The two parts of a blob. Throws WireFormatError when the first header
 * does not fit, PlanError `public_key_required` when the relay's mode needs
 * a public key and the blob has none, and `public_key_not_expected` for the
 * opposite (a client should not upload what the relay will not use).
 */
export function splitKeyBlob(bytes: Uint8Array, privacy: ResponsePrivacy | undefined): { galoisKeys: Uint8Array; publicKey?: Uint8Array } {
  const { size } = readSealHeader(bytes);
  const galoisKeys = bytes.subarray(0, size);
  const publicKey = size < bytes.length ? bytes.subarray(size) : undefined;
  if (needsPublicKey(privacy) && !publicKey) {
    throw new PlanError('public_key_required', `this relay re-randomizes responses (${privacy?.mode}): upload your public key as the key envelope's second item`, { expected: 2, got: 1 });
  }
  if (!needsPublicKey(privacy) && publicKey) {
    throw new WireFormatError('public_key_not_expected', 'this relay does not re-randomize responses: upload Galois keys only', { expected: 1, got: 2 });
  }
  return { galoisKeys, ...(publicKey ? { publicKey } : {}) };
}
