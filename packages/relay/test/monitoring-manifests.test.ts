// The monitoring artifacts (deploy/monitoring, deploy/k8s/keda,
// deploy/k8s-monitored, compose's Prometheus and Grafana) against the relay
// they watch: every metric they name is one the relay exports, the
// PrometheusRule is the rules file, the alerts exist with a runbook
// line, and the Kubernetes pieces point at the relay's pods, port and HPA.
// The live check (a real Prometheus scraping a real relay) is
// prometheus-loop.test.ts.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { RelayMetrics } from '../src/metrics/relay-metrics.ts';

// Manifests are untyped YAML: `any` below is deliberate.
const repo = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, repo), 'utf8');
const yamlDocs = (path: string): any[] =>
  parseAllDocuments(read(path))
    .map((d) => d.toJS())
    .filter((v) => v != null);

const RULES_FILE = 'deploy/monitoring/fhe-llm-relay.rules.yaml';
const DASHBOARD_FILE = 'deploy/monitoring/dashboards/fhe-llm-relay.json';
/** The job name every rule and panel assumes. */
const RELAY_JOB = 'fhe-llm-relay';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = parse(read(RULES_FILE)) as { groups: { name: string; rules: Rule[] }[] };
const allRules = rules.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read(DASHBOARD_FILE)) as { uid: string; panels: any[]; templating: { list: any[] } };
const kedaDocs = yamlDocs('deploy/k8s/keda/scaled-object.yaml');
const scaledObject = kedaDocs.find((d) => d.kind === 'ScaledObject');
const deployment = yamlDocs('deploy/k8s/deployment.yaml').find((d) => d.kind === 'Deployment');
const podLabels: Record<string, string> = deployment.spec.template.metadata.labels;
const relayContainer = deployment.spec.template.spec.containers.find((c: any) => c.name === 'relay');

/** Every PromQL expression the artifacts hold: rules, dashboard targets and variables, the ScaledObject's query. */
function expressions(): { where: string; expr: string }[] {
  const out = allRules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr }));
  for (const panel of dashboard.panels) for (const t of panel.targets ?? []) out.push({ where: `panel "${panel.title}"`, expr: t.expr });
  for (const v of dashboard.templating.list) if (v.type === 'query') out.push({ where: `variable ${v.name}`, expr: v.definition });
  for (const trigger of scaledObject.spec.triggers) if (trigger.type === 'prometheus') out.push({ where: 'ScaledObject', expr: trigger.metadata.query });
  return out;
}

/** Series names the relay exports (histograms as their _bucket, _sum and _count series). */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await new RelayMetrics().registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

describe('alert rules', () => {
  it("has the issue's alerts, each with a severity, a summary and a runbook line", () => {
    const alerts = allRules.filter((r) => r.alert);
    for (const name of ['FheRelayOverloaded', 'FheRelayServerErrors', 'FheRelayStoreUnavailable', 'FheRelayStepLatencyHigh', 'FheRelayWorkerRestarts', 'FheRelayNotReady']) {
      expect(
        alerts.map((a) => a.alert),
        name,
      ).toContain(name);
    }
    for (const a of alerts) {
      expect(['warning', 'critical'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.runbook, a.alert).toMatch(/^.{20,}$/);
      // docs/deploy.md explains each alert under its own name.
      expect(read('docs/deploy.md').includes(`\`${a.alert}\``), `docs/deploy.md explains ${a.alert}`).toBe(true);
    }
  });

  it('is the same in the PrometheusRule (generated: npm run generate:prometheus-rule)', () => {
    const [resource] = yamlDocs('deploy/monitoring/prometheus-rule.yaml');
    expect(resource).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    expect(resource.spec.groups, 'deploy/monitoring/prometheus-rule.yaml is stale: run npm run generate:prometheus-rule').toEqual(rules.groups);
  });
});

describe('metric names', () => {
  it('every fhe_relay_*, process_* and nodejs_* series the rules, dashboard and autoscaler query is exported by the relay', async () => {
    const exported = await exportedNames();
    const recorded = new Set(allRules.flatMap((r) => (r.record ? [r.record] : [])));
    const unknown: string[] = [];
    for (const { where, expr } of expressions()) {
      for (const [name] of expr.matchAll(/\b(?:fhe_relay[a-z0-9_:]*|process_[a-z0-9_]+|nodejs_[a-z0-9_]+)/g)) {
        if (!exported.has(name) && !recorded.has(name)) unknown.push(`${where}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('selects the relay job everywhere a job is named', () => {
    for (const { where, expr } of expressions()) for (const [, job] of expr.matchAll(/job="([^"]+)"/g)) expect(job, where).toBe(RELAY_JOB);
  });
});

describe('Grafana dashboard', () => {
  it('has a uid, unique panel ids, a query in every panel, and defines every variable it uses', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const defined = new Set(['__rate_interval', '__interval', '__range', ...dashboard.templating.list.map((v) => v.name)]);
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets) for (const [, name] of `${t.expr} ${panel.datasource.uid}`.matchAll(/\$\{?(\w+)/g)) expect(defined, `${panel.title}: $${name}`).toContain(name);
    }
    // Per replica and per model, as operators slice it.
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t: any) => t.expr)).join('\n');
    expect(exprs).toContain('by (instance');
    expect(exprs).toContain('by (model');
  });

  it("is provisioned in compose and by a ConfigMap for Grafana's sidecar", () => {
    const compose = parse(read('deploy/compose.yaml'));
    const grafana = compose.services.grafana;
    const provider = parse(read('deploy/monitoring/grafana/provisioning/dashboards/fhe-llm.yaml'));
    expect(grafana.volumes).toContain(`./monitoring/dashboards:${provider.providers[0].options.path}:ro`);
    expect(grafana.volumes).toContain('./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro');
    const datasource = parse(read('deploy/monitoring/grafana/provisioning/datasources/prometheus.yaml')).datasources[0];
    expect(new URL(datasource.url).hostname in compose.services).toBe(true);
    const component = parse(read('deploy/monitoring/kustomization.yaml'));
    const generator = component.configMapGenerator.find((g: any) => g.files.includes(DASHBOARD_FILE.replace('deploy/monitoring/', '')));
    expect(generator.options.labels).toEqual({ grafana_dashboard: '1' });
  });
});

describe('compose Prometheus', () => {
  it('scrapes every relay service as job fhe-llm-relay with the rules file, and mounts what it names', () => {
    const compose = parse(read('deploy/compose.yaml'));
    const config = parse(read('deploy/monitoring/prometheus.yml'));
    const job = config.scrape_configs.find((j: any) => j.job_name === RELAY_JOB);
    const relays = Object.entries<any>(compose.services)
      .filter(([, s]) => s.image?.startsWith('fhe-llm-relay'))
      .map(([name]) => name);
    expect(job.static_configs.flatMap((c: any) => c.targets.map((t: string) => t.split(':')[0])).sort()).toEqual(relays.sort());
    expect(config.rule_files).toEqual(['fhe-llm-relay.rules.yaml']);
    expect(compose.services.prometheus.volumes).toContain('./monitoring:/etc/prometheus:ro');
    const [alertmanager] = config.alerting.alertmanagers[0].static_configs[0].targets[0].split(':');
    expect(compose.services[alertmanager]).toBeDefined();
  });
});

describe('Kubernetes monitoring and autoscaling', () => {
  const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);

  it('the overlay builds on the base with the monitoring and KEDA components, files all present', () => {
    const overlay = parse(read('deploy/k8s-monitored/kustomization.yaml'));
    expect(overlay.resources).toEqual(['../k8s']);
    for (const dir of overlay.components) {
      const component = parse(read(`deploy/k8s-monitored/${dir}/kustomization.yaml`));
      expect(component.kind, dir).toBe('Component');
      for (const file of [...(component.resources ?? []), ...(component.configMapGenerator ?? []).flatMap((g: any) => g.files)]) {
        expect(existsSync(new URL(`deploy/k8s-monitored/${dir}/${file}`, repo)), `${dir}/${file}`).toBe(true);
      }
    }
    expect(overlay.namespace).toBe(parse(read('deploy/k8s/kustomization.yaml')).namespace);
  });

  it("the PodMonitor scrapes the relay pods' port as job fhe-llm-relay", () => {
    const [monitor] = yamlDocs('deploy/monitoring/pod-monitor.yaml');
    expect(selects(monitor.spec.selector.matchLabels)).toBe(true);
    expect(podLabels[monitor.spec.jobLabel]).toBe(RELAY_JOB);
    const endpoint = monitor.spec.podMetricsEndpoints[0];
    expect(relayContainer.ports.map((p: any) => p.name)).toContain(endpoint.port);
    expect(endpoint.path).toBe('/metrics');
  });

  it('KEDA scales the Deployment on in-flight work with CPU as a second trigger, replacing the base HPA', () => {
    expect(scaledObject.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    const types = scaledObject.spec.triggers.map((t: any) => t.type);
    expect(types).toEqual(expect.arrayContaining(['prometheus', 'cpu']));
    const prometheus = scaledObject.spec.triggers.find((t: any) => t.type === 'prometheus');
    expect(prometheus.metadata.query).toContain('fhe_relay_queue_wait_seconds_sum');
    expect(Number(prometheus.metadata.threshold)).toBeGreaterThan(0);
    const hpa = yamlDocs('deploy/k8s/hpa.yaml').find((d) => d.kind === 'HorizontalPodAutoscaler');
    expect(scaledObject.spec.minReplicaCount).toBe(hpa.spec.minReplicas);
    expect(scaledObject.spec.maxReplicaCount).toBe(hpa.spec.maxReplicas);
    const keda = parse(read('deploy/k8s/keda/kustomization.yaml'));
    const deleted = parse(keda.patches[0].patch);
    expect(deleted).toMatchObject({ $patch: 'delete', kind: 'HorizontalPodAutoscaler', metadata: { name: hpa.metadata.name } });
  });
});
