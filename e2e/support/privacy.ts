/** What fhe-llm's wire format allows through: `FHLM`, version 1, kind 1 (ciphertexts) or 2 (Galois keys). */
export const ENVELOPE_MAGIC = Buffer.from('FHLM', 'ascii');
export const ENVELOPE_KIND = { ciphertexts: 1, galoisKeys: 2 } as const;

export interface WireRequest {
  method: string;
  /** Path (and query) on the relay. */
  path: string;
  /** The body, or null when it could not be observed (Chromium omits large bodies from the DevTools protocol). */
  body: Buffer | null;
  /** For /v1 answers seen by the recording proxy. */
  answer?: Buffer | null;
  source: 'proxy' | 'browser';
}

export interface PrivacyReport {
  /** Envelopes counted at the recording proxy (each request once). */
  envelopes: { ciphertexts: number; galoisKeys: number };
  problems: string[];
}

/** Kind byte of a request body, or a description of why it is not an envelope. */
export function envelopeKind(body: Buffer): number | string {
  if (body.length < 17) return `only ${body.length} bytes`;
  if (!body.subarray(0, 4).equals(ENVELOPE_MAGIC)) return `starts with ${JSON.stringify(body.subarray(0, 4).toString('latin1'))}, not "FHLM"`;
  if (body[4] !== 1) return `envelope version ${body[4]}`;
  if (body[5] !== ENVELOPE_KIND.ciphertexts && body[5] !== ENVELOPE_KIND.galoisKeys) return `envelope kind ${body[5]}`;
  return body[5];
}

/**
 * Checks that no request carries any of `secrets` (prompts, as UTF-8 bytes, in
 * its path or body), that no /v1 answer carries the generated story, and that
 * every non-empty body sent to /v1 is an fhe-llm envelope of kind 1 or 2
 * (there is no kind for a secret key, so a secret key cannot ride along).
 */
export function checkPrivacy(requests: readonly WireRequest[], prompts: readonly string[], stories: readonly string[]): PrivacyReport {
  const report: PrivacyReport = { envelopes: { ciphertexts: 0, galoisKeys: 0 }, problems: [] };
  const needles = (texts: readonly string[]) => texts.filter((t) => t.trim().length >= 8).map((t) => ({ text: t, bytes: Buffer.from(t, 'utf8') }));
  const promptNeedles = needles(prompts);
  const storyNeedles = needles(stories);
  for (const r of requests) {
    const where = `${r.method} ${r.path} (${r.source})`;
    let decodedPath = r.path;
    try {
      decodedPath = decodeURIComponent(r.path.replaceAll('+', ' '));
    } catch {
      // keep the raw path
    }
    for (const n of promptNeedles) {
      if (decodedPath.includes(n.text)) report.problems.push(`${where}: the URL contains the prompt ${JSON.stringify(n.text)}`);
      if (r.body?.includes(n.bytes)) report.problems.push(`${where}: the body contains the prompt ${JSON.stringify(n.text)}`);
    }
    for (const n of storyNeedles) {
      if (r.body?.includes(n.bytes)) report.problems.push(`${where}: the body contains the story`);
      if (r.answer?.includes(n.bytes)) report.problems.push(`${where}: the relay's answer contains the story`);
    }
    if (!r.path.startsWith('/v1/') || !r.body || r.body.length === 0) continue;
    const kind = envelopeKind(r.body);
    if (typeof kind === 'string') report.problems.push(`${where}: the body is not an fhe-llm envelope (${kind})`);
    else if (r.source === 'proxy') report.envelopes[kind === ENVELOPE_KIND.ciphertexts ? 'ciphertexts' : 'galoisKeys']++;
  }
  return report;
}
