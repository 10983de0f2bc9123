// npm run generate:prometheus-rule  (node scripts/generate-prometheus-rule.ts on Node >= 22.6)
// Writes deploy/monitoring/prometheus-rule.yaml, the Prometheus Operator's
// PrometheusRule, from deploy/monitoring/fhe-llm-relay.rules.yaml (the one
// source of the relay's alerts). packages/relay/test/monitoring-manifests.test.ts
// fails when the generated file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

const dir = new URL('../deploy/monitoring/', import.meta.url);
const rules = parse(readFileSync(new URL('fhe-llm-relay.rules.yaml', dir), 'utf8')) as { groups: unknown[] };
const resource = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: {
    name: 'fhe-llm-relay',
    labels: { 'app.kubernetes.io/name': 'fhe-llm-relay', 'app.kubernetes.io/component': 'relay' },
  },
  spec: { groups: rules.groups },
};
const header = [
  '# GENERATED from fhe-llm-relay.rules.yaml by scripts/generate-prometheus-rule.ts: edit that file, then',
  '#   npm run generate:prometheus-rule',
  '# Your Prometheus must select it (kube-prometheus-stack: the label release=<its release name>,',
  '# set by a patch in deploy/monitoring/kustomization.yaml).',
  '',
].join('\n');
writeFileSync(new URL('prometheus-rule.yaml', dir), header + stringify(resource, { lineWidth: 0 }));
