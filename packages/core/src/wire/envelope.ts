import { WireFormatError } from '../errors/wire-format-error.ts';

/**
 * The binary envelope every ciphertext and key upload travels in.
 *
 *   offset  size  field
 *   0       4     magic "FHLM"
 *   4       1     version (1)
 *   5       1     kind (1 = ciphertexts, 2 = Galois keys)
 *   6       2     reserved, zero
 *   8       4     vectors: how many input vectors the ciphertexts carry (0 for keys)
 *   12      4     item count
 *   16      1     preset id length n
 *   17      n     preset id (ASCII)
 *   ...           per item: u32 length, then that many bytes (SEAL serialization)
 *
 * Little-endian throughout, nothing after the last item. Parsing checks
 * every length before reading and raises WireFormatError with a stable code.
 */
export const ENVELOPE_MAGIC = 'FHLM';
export const ENVELOPE_VERSION = 1;
export const MAX_ENVELOPE_ITEMS = 4096;
/** Bytes before the preset id: magic, version, kind, reserved, vectors, item count, id length. */
export const ENVELOPE_HEADER_BYTES = 17;

export const EnvelopeKind = { ciphertexts: 1, galoisKeys: 2 } as const;
export type EnvelopeKindName = keyof typeof EnvelopeKind;

export interface Envelope {
  readonly kind: EnvelopeKindName;
  readonly presetId: string;
  readonly vectors: number;
  readonly items: readonly Uint8Array[];
}

export interface ParseExpectations {
  kind?: EnvelopeKindName;
  presetId?: string;
  maxItems?: number;
}

export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const preset = new TextEncoder().encode(envelope.presetId);
  if (preset.length > 255) throw new WireFormatError('bad_preset', 'preset id longer than 255 bytes');
  const size = 17 + preset.length + envelope.items.reduce((n, item) => n + 4 + item.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(ENVELOPE_MAGIC), 0);
  view.setUint8(4, ENVELOPE_VERSION);
  view.setUint8(5, EnvelopeKind[envelope.kind]);
  view.setUint32(8, envelope.vectors, true);
  view.setUint32(12, envelope.items.length, true);
  view.setUint8(16, preset.length);
  out.set(preset, 17);
  let offset = 17 + preset.length;
  for (const item of envelope.items) {
    view.setUint32(offset, item.length, true);
    out.set(item, offset + 4);
    offset += 4 + item.length;
  }
  return out;
}

export function decodeEnvelope(bytes: Uint8Array, expect: ParseExpectations = {}): Envelope {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number, what: string) => {
    if (end > bytes.length) throw new WireFormatError('truncated', `envelope ends inside ${what}`, { expected: end, got: bytes.length });
  };
  need(17, 'the header');
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== ENVELOPE_MAGIC) throw new WireFormatError('bad_magic', 'not an fhe-llm envelope', { expected: ENVELOPE_MAGIC, got: magic });
  const version = view.getUint8(4);
  if (version !== ENVELOPE_VERSION) throw new WireFormatError('unsupported_version', 'unsupported envelope version', { expected: ENVELOPE_VERSION, got: version });
  const kindCode = view.getUint8(5);
  const kind = (Object.keys(EnvelopeKind) as EnvelopeKindName[]).find((k) => EnvelopeKind[k] === kindCode);
  if (!kind) throw new WireFormatError('bad_kind', 'unknown envelope kind', { expected: Object.values(EnvelopeKind), got: kindCode });
  if (expect.kind && kind !== expect.kind) throw new WireFormatError('bad_kind', `expected ${expect.kind}`, { expected: expect.kind, got: kind });
  if (view.getUint16(6, true) !== 0) throw new WireFormatError('bad_header', 'reserved header bytes must be zero');
  const vectors = view.getUint32(8, true);
  const count = view.getUint32(12, true);
  const maxItems = expect.maxItems ?? MAX_ENVELOPE_ITEMS;
  if (count > maxItems) throw new WireFormatError('too_many_items', 'too many items in envelope', { expected: `<= ${maxItems}`, got: count });
  const presetLength = view.getUint8(16);
  need(17 + presetLength, 'the preset id');
  const presetBytes = bytes.subarray(17, 17 + presetLength);
  if (!presetBytes.every((b) => b >= 0x20 && b < 0x7f)) throw new WireFormatError('bad_preset', 'preset id is not printable ASCII');
  const presetId = String.fromCharCode(...presetBytes);
  if (expect.presetId !== undefined && presetId !== expect.presetId) {
    throw new WireFormatError('preset_mismatch', 'envelope was made for another preset', { expected: expect.presetId, got: presetId });
  }
  const items: Uint8Array[] = [];
  let offset = 17 + presetLength;
  for (let i = 0; i < count; i++) {
    need(offset + 4, `the length of item ${i}`);
    const length = view.getUint32(offset, true);
    need(offset + 4 + length, `item ${i}`);
    items.push(bytes.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (offset !== bytes.length) throw new WireFormatError('trailing_bytes', 'bytes after the last item', { expected: offset, got: bytes.length });
  return { kind, presetId, vectors, items };
}
