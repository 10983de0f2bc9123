import { getPreset } from '@fhe-llm/core';
import { SecurityPolicyError } from './errors/security-policy-error.ts';

/** Loopback hosts, where plain http never leaves the machine. */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The relay URL must be https, except on loopback or with
 * `allowInsecureTransport`: session tokens and API keys travel in headers,
 * and a network attacker who can rewrite the descriptor could otherwise
 * announce a weak preset or other Galois steps. An empty or relative URL
 * means the page's own origin.
 */
export function checkRelayUrl(relayUrl: string, allowInsecureTransport = false): void {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  let url: URL;
  try {
    url = new URL(relayUrl || '/', base);
  } catch {
    throw new SecurityPolicyError('bad_relay_url', `relayUrl "${relayUrl}" is not a URL${base ? '' : ' (relative URLs need a page origin)'}`, { got: relayUrl });
  }
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') throw new SecurityPolicyError('bad_relay_url', 'relayUrl must be http(s)', { expected: 'https:', got: url.protocol });
  if (isLoopback(url.hostname) || allowInsecureTransport) return;
  throw new SecurityPolicyError('insecure_transport', `refusing plain http to ${url.host}: use https, or set allowInsecureTransport for a trusted network`, { expected: 'https:', got: url.protocol });
}

/**
 * A relay announces the CKKS preset; presets below 128-bit security are
 * refused unless the app opted in with `allowInsecurePresets` (tests and
 * benchmarks only). Unknown presets are refused by `getPreset` (PresetError).
 */
export function checkPresetSecurity(presetId: string, allowInsecurePresets = false): void {
  const preset = getPreset(presetId);
  if (preset.securityLevel >= 128 || allowInsecurePresets) return;
  throw new SecurityPolicyError('insecure_preset', `the relay announced ${presetId}, below 128-bit security; set allowInsecurePresets only for tests`, { expected: 128, got: preset.securityLevel });
}
