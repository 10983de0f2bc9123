// Test support: relays without sockets, real CKKS clients (the secret key
// lives here, in the tests, never in the relay's src).
import { readFileSync } from 'node:fs';
import { CkksContext, encodeEnvelope, type EncryptedModelDescriptor } from '@fhe-llm/core';
import { needsPublicKey } from '@fhe-llm/core/protocol';
import { CkksClient } from '@fhe-llm/core/client';
import { BUNDLED_MODEL, relayConfigSchema, type RelayConfig, type RelayConfigInput } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { loadHostedModel, type HostedModel } from '../src/models/hosted-model.ts';
import { Relay, type RelayOptions } from '../src/relay.ts';

export const modelsDir = new URL('../../../models/stories260K/', import.meta.url);

export interface ReferenceCase {
  prompt: string;
  steps: number;
  prompt_token_ids: number[];
  next_token_ids: number[];
}

export function referenceCases(): ReferenceCase[] {
  return JSON.parse(readFileSync(new URL('reference.json', modelsDir), 'utf8')) as ReferenceCase[];
}

export function testConfig(overrides: RelayConfigInput = {}): RelayConfig {
  // Tests may use the fast insecure preset; the floor itself is tested in config.test.ts.
  return relayConfigSchema.parse({ workers: 2, logLevel: 'silent', allowInsecurePreset: true, ...overrides });
}

/** stories260K prepared under `id` for `preset` (calibration runs in a worker; ~4 s). */
/** stories260K as a relay hosts it; `parallelism` is the relay's request parallelism (testConfig's 2 workers: 2). */
export function loadStories(preset: string, id = 'stories260K', parallelism = 1): Promise<HostedModel> {
  return loadHostedModel({ ...BUNDLED_MODEL, id }, preset, parallelism);
}

/** A started relay without a socket; use relay.app.request(). */
export async function startRelay(config: RelayConfig, options: RelayOptions = {}): Promise<Relay> {
  const relay = new Relay(config, { logger: createLogger('silent'), listen: false, ...options });
  await relay.start();
  return relay;
}

/** A browser stand-in: fresh CKKS keys for a model's preset. Call delete() when done. */
export class TestClient {
  readonly ctx: CkksContext;
  readonly client: CkksClient;
  readonly descriptor: EncryptedModelDescriptor;

  constructor(ctx: CkksContext, descriptor: EncryptedModelDescriptor) {
    this.ctx = ctx;
    this.client = CkksClient.generate(ctx);
    this.descriptor = descriptor;
  }

  static async create(descriptor: EncryptedModelDescriptor): Promise<TestClient> {
    return new TestClient(await CkksContext.create(descriptor.preset), descriptor);
  }

  /**
   * Key envelope for `steps` (default: all the model needs): Galois keys,
   * then a public key when the relay re-randomizes responses. Descriptors
   * from loadStories predate the relay's announcement, so without one the
   * relay's default mode (rerandomize) is assumed.
   */
  keysEnvelope(steps: readonly number[] = this.descriptor.galoisSteps, withPublicKey = needsPublicKey(this.descriptor.responsePrivacy ?? { mode: 'rerandomize' })): Uint8Array {
    const items = [this.client.makeGaloisKeys(steps), ...(withPublicKey ? [this.client.makePublicKey()] : [])];
    return encodeEnvelope({ kind: 'galoisKeys', presetId: this.descriptor.preset, vectors: 0, items });
  }

  delete(): void {
    this.client.delete();
    this.ctx.delete();
  }
}

export const octet = { 'content-type': 'application/octet-stream' };

export function bearer(token: string): Record<string, string> {
  return { ...octet, authorization: `Bearer ${token}` };
}

export async function errorOf(res: Response): Promise<{ status: number; code: string }> {
  const body = (await res.json()) as { error: { code: string } };
  return { status: res.status, code: body.error.code };
}

export type { SessionGrant as CreatedSession } from '@fhe-llm/core/protocol';
import type { SessionGrant as CreatedSession } from '@fhe-llm/core/protocol';

/** POST /v1/sessions on an app or a fetch-like function (`headers`: credentials, e.g. X-API-Key). */
export async function createSession(
  request: (path: string, init: RequestInit) => Response | Promise<Response>,
  model: string,
  keys: Uint8Array,
  headers: Record<string, string> = {},
): Promise<CreatedSession> {
  const res = await request(`/v1/sessions?model=${model}`, { method: 'POST', body: keys as Uint8Array<ArrayBuffer>, headers: { ...octet, ...headers } });
  if (res.status !== 201) throw new Error(`session not created: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedSession;
}
