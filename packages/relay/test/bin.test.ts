// The `fhe-llm-relay` command as an operator runs it: --help, a bound port
// printed in the logs, graceful shutdown on SIGTERM that lets an in-flight
// request finish, exit code 0, and no secrets in the logs.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planModelStep, type EncryptedModelDescriptor } from '@fhe-llm/core';
import { decryptStepResponse, encryptStepRequest } from '@fhe-llm/core/client';
import { OPTIONS } from '../src/config.ts';
import { TestClient, bearer, createSession } from './relay-test-kit.ts';

const bin = fileURLToPath(new URL('../bin/fhe-llm-relay.js', import.meta.url));

describe('fhe-llm-relay', () => {
  it('--help prints every option with its variable and default', () => {
    const out = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    for (const o of OPTIONS) expect(out.stdout).toContain(`--${o.flag}`);
    expect(out.stdout).toContain('FHE_LLM_PORT');
    expect(out.stdout).toContain('default: 127.0.0.1');
  });

  it('refuses invalid settings with exit code 2', () => {
    const out = spawnSync(process.execPath, [bin, '--port', 'x'], { encoding: 'utf8', env: { ...process.env, FHE_LLM_WORKERS: '0' } });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--port / FHE_LLM_PORT');
    expect(out.stderr).toContain('--workers / FHE_LLM_WORKERS');
  });

  it('serves on an ephemeral port and drains in-flight work on SIGTERM, exiting 0', async () => {
    const child = spawn(process.execPath, [bin, '--port', '0', '--workers', '1', '--preset', 'insecure-n2048-q109', '--allow-insecure-preset'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const base = await new Promise<string>((resolve, reject) => {
      let port = 0;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        logs.push(line);
        const entry = JSON.parse(line) as { msg: string; port?: number };
        if (entry.msg === 'listening') port = entry.port!;
        if (entry.msg === 'ready') resolve(`http://127.0.0.1:${port}`);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    const descriptor = (await (await fetch(`${base}/v1/models/stories260K`)).json()) as EncryptedModelDescriptor;
    const client = await TestClient.create(descriptor);
    try {
      const session = await createSession((path, init) => fetch(`${base}${path}`, init), 'stories260K', client.keysEnvelope());
      // A long request (64 vectors, about a second of evaluation) that is surely being evaluated when SIGTERM lands.
      const xs = Array.from({ length: 64 }, () => new Float64Array(descriptor.steps[10].dIn).fill(0.1));
      const plan = planModelStep(descriptor, 10, xs.length);
      const inFlight = fetch(`${base}/v1/models/stories260K/steps/10`, {
        method: 'POST',
        body: encryptStepRequest(client.client, plan, xs) as Uint8Array<ArrayBuffer>,
        headers: bearer(session.token),
      });
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGTERM');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(decryptStepResponse(client.client, plan, xs.length, new Uint8Array(await res.arrayBuffer()))).toHaveLength(64);
      expect(await exited).toBe(0);
      const text = logs.join('\n');
      expect(text).toContain('"msg":"stopped"');
      expect(text).not.toContain(session.token.split('.')[1]);
      expect(text).not.toContain(session.id);
    } finally {
      client.delete();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
