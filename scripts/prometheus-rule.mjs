#!/usr/bin/env node
// Writes deploy/k8s/base/prometheusrule.yaml from deploy/prometheus/rules/*.yml, so that the
// prometheus-operator PrometheusRule holds exactly the rules Prometheus loads from files
// (test/deploy/k8s.test.ts fails when they differ). Run after changing a rule file:
//   node scripts/prometheus-rule.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const deploy = fileURLToPath(new URL('../deploy/', import.meta.url));
const groups = ['bflow-recording', 'bflow-alerts'].flatMap(
  (name) => YAML.parse(readFileSync(`${deploy}prometheus/rules/${name}.yml`, 'utf8')).groups,
);
const rule = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'bflow', labels: { 'app.kubernetes.io/name': 'bflow' } },
  spec: { groups },
};
const header =
  '# prometheus-operator: the recording and alert rules of deploy/prometheus/rules, the same groups, written by\n' +
  '# scripts/prometheus-rule.mjs (test/deploy/k8s.test.ts keeps them equal). docs/operations.md#alerts.\n';
writeFileSync(`${deploy}k8s/base/prometheusrule.yaml`, header + YAML.stringify(rule, { lineWidth: 0 }));
