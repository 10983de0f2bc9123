// Test and benchmark support: the client half of split inference talking to
// a relay over real HTTP, as the SDK will.
import { CkksContext, encodeEnvelope, type EncryptedModelDescriptor, type StepRunner } from '@fhe-llm/core';
import { needsPublicKey } from '@fhe-llm/core/protocol';
import { CkksClient, runEncryptedStep, type TrafficCounters } from '@fhe-llm/core/client';

export class HttpStepRunner implements StepRunner {
  readonly counters: TrafficCounters = { roundTrips: 0, bytesUp: 0, bytesDown: 0 };
  /** Milliseconds of each HTTP exchange (encryption and decryption excluded). */
  readonly latencies: number[] = [];
  /** Sum of the relay's `Server-Timing: worker-cpu;dur=` (evaluation-worker CPU ms) over the answers. */
  workerMs = 0;
  readonly baseUrl: string;
  readonly client: CkksClient;
  readonly descriptor: EncryptedModelDescriptor;
  readonly token: string;

  constructor(baseUrl: string, client: CkksClient, descriptor: EncryptedModelDescriptor, token: string) {
    this.baseUrl = baseUrl;
    this.client = client;
    this.descriptor = descriptor;
    this.token = token;
  }

  async runStep(stepIndex: number, inputs: Float64Array[], signal?: AbortSignal): Promise<Float64Array[]> {
    return runEncryptedStep(
      this.client,
      this.descriptor,
      stepIndex,
      inputs,
      async (body) => {
        const started = performance.now();
        const res = await fetch(`${this.baseUrl}/v1/models/${this.descriptor.id}/steps/${stepIndex}`, {
          method: 'POST',
          body: body as Uint8Array<ArrayBuffer>,
          headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${this.token}` },
          signal,
        });
        if (res.status !== 200) throw new Error(`step ${stepIndex}: HTTP ${res.status} ${await res.text()}`);
        const bytes = new Uint8Array(await res.arrayBuffer());
        this.workerMs += Number(/worker-cpu;dur=([0-9.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1] ?? 0);
        this.latencies.push(performance.now() - started);
        return bytes;
      },
      this.counters,
    );
  }
}

/** Fetch the descriptor, make keys, open a session: everything a fresh browser tab does. */
export async function connect(
  baseUrl: string,
  modelId: string,
  ctx?: CkksContext,
): Promise<{ runner: HttpStepRunner; descriptor: EncryptedModelDescriptor; keyBytes: number; close(): Promise<void> }> {
  const descriptor = (await (await fetch(`${baseUrl}/v1/models/${modelId}`)).json()) as EncryptedModelDescriptor;
  const context = ctx ?? (await CkksContext.create(descriptor.preset));
  const client = CkksClient.generate(context);
  const keys = client.makeGaloisKeys(descriptor.galoisSteps);
  const res = await fetch(`${baseUrl}/v1/sessions?model=${modelId}`, {
    method: 'POST',
    body: encodeEnvelope({
      kind: 'galoisKeys',
      presetId: descriptor.preset,
      vectors: 0,
      items: [keys, ...(needsPublicKey(descriptor.responsePrivacy) ? [client.makePublicKey()] : [])],
    }) as Uint8Array<ArrayBuffer>,
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (res.status !== 201) throw new Error(`session: HTTP ${res.status} ${await res.text()}`);
  const session = (await res.json()) as { id: string; token: string; keyBytes: number };
  return {
    runner: new HttpStepRunner(baseUrl, client, descriptor, session.token),
    descriptor,
    keyBytes: session.keyBytes,
    async close() {
      await fetch(`${baseUrl}/v1/sessions/${session.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${session.token}` } });
      client.delete();
      if (!ctx) context.delete();
    },
  };
}
