/** What `POST /v1/sessions` answers: the relay's grant for uploaded evaluation keys. */
export interface SessionGrant {
  id: string;
  /** Bearer token for the step route: `<id>.<secret>`. */
  token: string;
  model: string;
  expiresAt: string;
  /** SHA-256 (hex) of the uploaded key bytes; identical uploads share storage. */
  keysHash: string;
  keyBytes: number;
}
