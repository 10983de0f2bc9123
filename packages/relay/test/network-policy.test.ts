// deploy/k8s/networkpolicy.yaml (relay) and redis.yaml's policy against the other manifests: the policies
// select the pods the Deployment and StatefulSet make, the relay's ingress
// port is the container's, and Redis admits relay pods only.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const repo = new URL('../../../', import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const load = (path: string): any[] =>
  parseAllDocuments(readFileSync(new URL(path, repo), 'utf8'))
    .map((d) => d.toJS())
    .filter(Boolean);
const kustomization = load('deploy/k8s/kustomization.yaml')[0];
const manifests = (kustomization.resources as string[]).flatMap((file) => load(`deploy/k8s/${file}`));
const policy = (name: string) => manifests.find((m) => m.kind === 'NetworkPolicy' && m.metadata.name === name);
const podLabels = (kind: string) => manifests.find((m) => m.kind === kind && m.spec?.template)?.spec.template.metadata.labels as Record<string, string>;
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('deploy/k8s/networkpolicy.yaml', () => {
  const relayPods = podLabels('Deployment');
  const redisPods = podLabels('StatefulSet');

  it('selects the relay and Redis pods', () => {
    expect(selects(policy('fhe-llm-relay').spec.podSelector.matchLabels, relayPods)).toBe(true);
    expect(policy('fhe-llm-relay').spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(selects(policy('fhe-llm-redis').spec.podSelector.matchLabels, redisPods)).toBe(true);
    expect(selects(policy('fhe-llm-redis').spec.podSelector.matchLabels, relayPods)).toBe(false);
  });

  it('lets the relay take HTTP on its container port and reach Redis; Redis admits relay pods only', () => {
    const relay = policy('fhe-llm-relay').spec;
    const container = manifests.find((m) => m.kind === 'Deployment').spec.template.spec.containers.find((c: { name: string }) => c.name === 'relay');
    const portNames = container.ports.map((p: { name: string }) => p.name);
    expect(relay.ingress.flatMap((r: { ports: { port: string }[] }) => r.ports.map((p) => p.port)).every((p: string) => portNames.includes(p))).toBe(true);
    expect(relay.egress.some((r: { to?: { podSelector: { matchLabels: Record<string, string> } }[] }) => r.to?.some((t) => selects(t.podSelector.matchLabels, redisPods)))).toBe(true);
    const redis = policy('fhe-llm-redis').spec;
    expect(redis.ingress).toHaveLength(1);
    expect(redis.ingress[0].from.every((f: { podSelector: { matchLabels: Record<string, string> } }) => selects(f.podSelector.matchLabels, relayPods))).toBe(true);
  });
});
