// Deployment artifacts (Dockerfile, deploy/k8s, deploy/compose.yaml) against
// the relay they deploy: probes hit routes the app serves, ports agree with
// the relay's default, the pod runs non-root on a read-only root filesystem,
// resources follow the sizing rule, the ConfigMap holds only real settings.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { OPTIONS, parseCommandLine, relayConfigSchema } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { openApiDocument } from '../src/openapi/openapi-document.ts';
import { Relay } from '../src/relay.ts';

// Manifests are untyped YAML: `any` below is deliberate.
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> };

const repo = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, repo), 'utf8');

function parseYaml(path: string): any[] {
  const docs = parseAllDocuments(read(path));
  for (const doc of docs) if (doc.errors.length) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return docs.map((doc) => doc.toJS()).filter((value) => value != null);
}

/** Kubernetes quantities: cores ("2", "500m") or bytes ("1Gi", "512Mi", "1G"). */
function quantity(value: string | number): number {
  const match = /^([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(String(value));
  if (!match) throw new Error(`not a quantity: ${value}`);
  const factor: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, Ki: 2 ** 10, M: 1e6, Mi: 2 ** 20, G: 1e9, Gi: 2 ** 30, T: 1e12, Ti: 2 ** 40 };
  return Number(match[1]) * factor[match[2] ?? ''];
}

const MiB = 2 ** 20;
const relayDefaults = relayConfigSchema.parse({});
const kustomization = parseYaml('deploy/k8s/kustomization.yaml')[0];
const manifests: Manifest[] = (kustomization.resources as string[]).flatMap((file) => parseYaml(`deploy/k8s/${file}`));

function find(kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found;
}

const deployment = find('Deployment', 'fhe-llm-relay');
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers.find((c: any) => c.name === 'relay');
const configMap = find('ConfigMap', 'fhe-llm-relay');
const podLabels: Record<string, string> = deployment.spec.template.metadata.labels;

/** A probe's or Service's port (number or container port name) as a number. */
function containerPort(port: string | number): number {
  if (typeof port === 'number') return port;
  const named = container.ports.find((p: any) => p.name === port);
  if (!named) throw new Error(`container has no port named ${port}`);
  return named.containerPort;
}

const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Dockerfile instructions (continuations joined) of the final stage. */
function dockerfileFinalStage(): { instruction: string; args: string }[] {
  const lines = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/);
  const all = lines
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [instruction, ...rest] = line.split(/\s+/);
      return { instruction: instruction.toUpperCase(), args: rest.join(' ') };
    });
  const lastFrom = all.map((i) => i.instruction).lastIndexOf('FROM');
  return all.slice(lastFrom);
}

describe('deploy/k8s', () => {
  let relay: Relay;
  beforeAll(() => {
    // The app as the image runs it, without loading models: routes only.
    relay = new Relay(relayConfigSchema.parse({ logLevel: 'silent' }), { listen: false, logger: createLogger('silent') });
  });
  afterAll(async () => {
    await relay.close();
  });

  it('lists only files that exist, each with kind, apiVersion and a unique name', () => {
    for (const file of kustomization.resources) expect(existsSync(new URL(`deploy/k8s/${file}`, repo)), file).toBe(true);
    const ids = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
    for (const m of manifests) {
      expect(m.apiVersion, ids.join()).toBeTruthy();
      expect(m.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const kind of ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'ConfigMap', 'StatefulSet']) {
      expect(
        manifests.some((m) => m.kind === kind),
        kind,
      ).toBe(true);
    }
  });

  it('probes routes the relay serves: liveness /healthz, readiness and startup /readyz', async () => {
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.startupProbe.httpGet.path).toBe('/readyz');
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      const path: string = probe.httpGet.path;
      expect(containerPort(probe.httpGet.port)).toBe(relayDefaults.port);
      expect(openApiDocument.paths, path).toHaveProperty([path]);
      expect((await relay.app.request(path)).status, path).not.toBe(404);
    }
    // Live as soon as it listens; ready only once models and workers are up.
    expect((await relay.app.request('/healthz')).status).toBe(200);
    expect((await relay.app.request('/readyz')).status).toBe(503);
    // Calibration and pre-encoding at start: give it minutes, not seconds.
    const startup = container.startupProbe;
    expect((startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3)).toBeGreaterThanOrEqual(120);
  });

  it('agrees on the port: container, Service targetPort, relay default, ConfigMap, Dockerfile', () => {
    const http = container.ports.find((p: any) => p.name === 'http');
    expect(http.containerPort).toBe(relayDefaults.port);
    expect(Number(configMap.data?.FHE_LLM_PORT ?? relayDefaults.port)).toBe(relayDefaults.port);
    const service = find('Service', 'fhe-llm-relay');
    expect(selects(service.spec.selector, podLabels)).toBe(true);
    for (const port of service.spec.ports) expect(containerPort(port.targetPort)).toBe(http.containerPort);
    const stage = dockerfileFinalStage();
    expect(stage.filter((i) => i.instruction === 'EXPOSE').map((i) => i.args)).toContain(String(relayDefaults.port));
  });

  it('wires the Deployment, HPA and PDB to the same pods', () => {
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    const hpa = find('HorizontalPodAutoscaler', 'fhe-llm-relay');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.metrics.some((m: any) => m.resource?.name === 'cpu')).toBe(true);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const pdb = find('PodDisruptionBudget', 'fhe-llm-relay');
    expect(selects(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
    // Drain: the relay finishes in-flight requests within one request timeout + 5 s.
    const timeoutS = Number(configMap.data?.FHE_LLM_REQUEST_TIMEOUT_MS ?? relayDefaults.requestTimeoutMs) / 1000;
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(timeoutS + 5);
  });

  it('runs non-root, read-only, without privilege escalation or capabilities, /tmp on an emptyDir', () => {
    const pod = podSpec.securityContext;
    const ctr = container.securityContext;
    expect(pod.runAsNonRoot).toBe(true);
    expect(ctr.runAsNonRoot ?? pod.runAsNonRoot).toBe(true);
    const uid = ctr.runAsUser ?? pod.runAsUser;
    expect(uid).toBeGreaterThan(0);
    expect(ctr.readOnlyRootFilesystem).toBe(true);
    expect(ctr.allowPrivilegeEscalation).toBe(false);
    expect(ctr.capabilities.drop).toContain('ALL');
    expect(ctr.capabilities.add ?? []).toEqual([]);
    const tmp = container.volumeMounts.find((m: any) => m.mountPath === '/tmp');
    expect(podSpec.volumes.find((v: any) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    // The same uid as the image's USER.
    const user = dockerfileFinalStage()
      .filter((i) => i.instruction === 'USER')
      .at(-1)?.args;
    expect(user?.split(':')[0]).toBe(String(uid));
  });

  it("sets resources: ~1 CPU per worker, 512 MiB + the workers' key caches", () => {
    const { requests, limits } = container.resources;
    for (const r of ['cpu', 'memory']) {
      expect(requests[r], r).toBeDefined();
      expect(limits[r], r).toBeDefined();
      expect(quantity(limits[r])).toBeGreaterThanOrEqual(quantity(requests[r]));
    }
    const workers = Number(configMap.data?.FHE_LLM_WORKERS);
    expect(workers, 'FHE_LLM_WORKERS must be set: the default follows the node, not the pod').toBeGreaterThan(0);
    expect(quantity(requests.cpu)).toBeGreaterThanOrEqual(workers);
    const keyCache = Number(configMap.data?.FHE_LLM_KEY_CACHE_BYTES ?? relayDefaults.keyCacheBytes);
    expect(quantity(limits.memory)).toBeGreaterThanOrEqual(512 * MiB + workers * keyCache);
  });

  it('has a ConfigMap of real relay settings that parse', () => {
    const known = new Set(OPTIONS.map((o) => o.env));
    for (const key of Object.keys(configMap.data ?? {})) expect(known, key).toContain(key);
    const parsed = parseCommandLine([], configMap.data ?? {});
    expect(parsed.help).toBe(false);
    if (!parsed.help) expect(parsed.config.host).toBe('0.0.0.0');
    expect(container.envFrom).toContainEqual({ configMapRef: { name: configMap.metadata.name } });
  });

  it('provides Redis and points REDIS_URL at it', () => {
    const env = container.env.find((e: any) => e.name === 'REDIS_URL');
    const url = new URL(env.value);
    expect(url.protocol).toMatch(/^rediss?:$/);
    const service = find('Service', url.hostname);
    expect(service.spec.ports.map((p: any) => p.port)).toContain(Number(url.port || 6379));
    const redis = manifests.find((m) => m.kind === 'StatefulSet' && selects(service.spec.selector, m.spec.template.metadata.labels));
    expect(redis, 'a StatefulSet behind the Redis Service').toBeDefined();
    expect(find('Service', redis!.spec.serviceName).spec.clusterIP).toBe('None');
    const redisContainer = redis!.spec.template.spec.containers[0];
    expect(redisContainer.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(redisContainer.resources.limits.memory).toBeDefined();
  });
});

describe('Dockerfile', () => {
  const stage = dockerfileFinalStage();
  const args = (instruction: string) => stage.filter((i) => i.instruction === instruction).map((i) => i.args);
  const dockerfile = read('Dockerfile');

  it('runs as a numeric non-root USER and health-checks /readyz with node', () => {
    const user = args('USER').at(-1);
    expect(user).toMatch(/^[0-9]+(:[0-9]+)?$/);
    expect(Number(user!.split(':')[0])).toBeGreaterThan(0);
    const healthcheck = args('HEALTHCHECK').at(-1);
    expect(healthcheck).toMatch(/CMD \["node",/);
    expect(healthcheck).toContain('/readyz');
  });

  it('starts the relay bin, listening on all interfaces, in production mode', () => {
    const entrypoint = JSON.parse(args('ENTRYPOINT').at(-1)!) as string[];
    expect(entrypoint[0]).toBe('node');
    expect(existsSync(new URL(entrypoint[1], repo)), entrypoint[1]).toBe(true);
    const env = args('ENV').join(' ');
    expect(env).toMatch(/FHE_LLM_HOST=0\.0\.0\.0/);
    expect(env).toMatch(/NODE_ENV=production/);
  });

  it('installs production dependencies of every workspace without install scripts', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\}|^FROM node:24-bookworm-slim/m);
    const workspaces = JSON.parse(read('package.json')).workspaces as string[];
    for (const ws of workspaces) expect(dockerfile, ws).toContain(`COPY ${ws}/package.json ${ws}/`);
  });

  it('keeps node_modules, .git and test output out of the build context', () => {
    const rules = read('.dockerignore')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    // An allow-list: everything is out unless re-included, and none of these is.
    expect(rules[0]).toBe('*');
    for (const path of ['node_modules', '.git', 'test-results', 'playwright-report', '.fhe-llm']) {
      expect(
        rules.some((r) => r.startsWith('!') && r.slice(1).split('/')[0] === path),
        path,
      ).toBe(false);
    }
    expect(rules).toContain('**/*.test.ts');
  });
});

describe('deploy/compose.yaml', () => {
  const compose = parseYaml('deploy/compose.yaml')[0];
  const relays = Object.entries<any>(compose.services).filter(([, s]) => s.image?.startsWith('fhe-llm-relay'));

  it('runs two read-only relays on Redis behind the load balancer', () => {
    expect(relays.length).toBeGreaterThanOrEqual(2);
    const nginx = read('deploy/nginx.conf');
    for (const [name, service] of relays) {
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop).toContain('ALL');
      expect(compose.services[new URL(service.environment.REDIS_URL).hostname], name).toBeDefined();
      expect(nginx).toContain(`server ${name}:${relayDefaults.port}`);
    }
  });
});
