import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadServerConfig, type ServerRole } from '../../src/app/config.ts';
import { DEPLOY, ROOT, readYaml, readYamlDocuments } from './deploy-files.ts';
import { validateObject } from './k8s-models.ts';

/**
 * deploy/k8s: every object of the kustomize base and the example overlay is valid against the Kubernetes
 * schemas; each workload has probes on /health or /ready, resources, a PDB and an HPA; the environment a
 * pod gets names only variables of src/app/config.ts and is enough for its role to start; the
 * PrometheusRule holds exactly the rules of deploy/prometheus/rules.
 */
const base = readYaml<{ resources: string[] }>('k8s/base/kustomization.yaml');
const objects = base.resources.flatMap((file) => readYamlDocuments(`k8s/base/${file}`).map((o) => ({ file, o })));
const of = (kind: string) => objects.filter(({ o }) => o.kind === kind).map(({ o }) => o);
const deployments = of('Deployment');
const configMap = of('ConfigMap')[0];
const secret = of('Secret')[0];

const SERVED = ['v1', 'apps/v1', 'batch/v1', 'autoscaling/v2', 'policy/v1', 'monitoring.coreos.com/v1'];

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The environment a container of the base gets: its ConfigMap and Secret, then its own env (fieldRefs filled in). */
function containerEnv(container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef)
      Object.assign(env, objects.find(({ o }) => o.metadata.name === from.configMapRef.name)?.o.data);
    if (from.secretRef)
      Object.assign(env, objects.find(({ o }) => o.metadata.name === from.secretRef.name)?.o.stringData);
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? (e.valueFrom?.fieldRef ? 'bflow-node-7d9f-x2' : '');
  return env;
}

describe('deploy - kubernetes manifests', () => {
  it('every object of the base is valid against its Kubernetes schema', async () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const { o } of objects) {
      await validateObject(o);
      // Served by every supported Kubernetes (1.25+): no removed beta API.
      expect(SERVED, `${o.kind} ${o.metadata.name}`).toContain(o.apiVersion);
    }
  });

  it('every object of the example overlay is valid, and its patches name objects of the base', async () => {
    const overlay = readYaml<any>('k8s/overlays/example/kustomization.yaml');
    for (const file of overlay.resources.filter((r: string) => r.endsWith('.yaml')))
      for (const o of readYamlDocuments(`k8s/overlays/example/${file}`)) await validateObject(o);
    const names = new Set(objects.map(({ o }) => `${o.kind}/${o.metadata.name}`));
    for (const p of overlay.patches) {
      const target = p.target ?? readYamlDocuments(`k8s/overlays/example/${p.path}`)[0];
      const kind = target.kind;
      const name = target.name ?? target.metadata?.name;
      expect(names, `patch of ${kind}/${name}`).toContain(`${kind}/${name}`);
    }
    for (const r of overlay.replicas) expect(names).toContain(`Deployment/${r.name}`);
  });

  // kubectl carries kustomize; CI machines may not have it, the checks above do not need it.
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  /** What a pod of a rendered overlay gets: its ConfigMap and Secret (the generator's hash suffix included). */
  const renderedEnv = (rendered: any[]): Record<string, string> => ({
    ...rendered.find((o) => o.kind === 'ConfigMap').data,
    ...rendered.find((o) => o.kind === 'Secret').stringData,
    BFLOW_NODE_ID: 'bflow-node-7d9f-x2',
  });

  const render = (overlay: string): any[] => {
    const out = spawnSync('kubectl', ['kustomize', `${DEPLOY}k8s/overlays/${overlay}`], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    return parseAllDocuments(out.stdout).map((d) => d.toJS());
  };

  it.skipIf(!kubectl)('kubectl kustomize renders the example overlay into valid objects', async () => {
    const rendered = render('example');
    expect(rendered.length).toBe(objects.length + 1); // + the Namespace
    for (const o of rendered) {
      await validateObject(o);
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('bflow');
    }
    const node = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'bflow-node');
    expect(node.spec.replicas).toBe(4);
    expect(loadServerConfig(renderedEnv(rendered), 'node').shards).toBe(256);
    expect(node.spec.template.spec.containers[0].image).toBe('registry.example.com/bflow:0.1.0');
  });

  it.skipIf(!kubectl)('the co-located component switches the topology: nodes serve the API, no gateway', async () => {
    const rendered = render('colocated');
    for (const o of rendered) await validateObject(o);
    expect(rendered.filter((o) => o.metadata.name === 'bflow-gateway')).toEqual([]);
    const node = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'bflow-node');
    const container = node.spec.template.spec.containers[0];
    expect(container.args).toEqual(['all']);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    const config = loadServerConfig(renderedEnv(rendered), 'all');
    expect(container.ports.find((p: any) => p.name === 'http').containerPort).toBe(config.port);
    const api = rendered.find((o) => o.kind === 'Service' && o.metadata.name === 'bflow-api');
    expect(matches(api.spec.selector, node.spec.template.metadata.labels)).toBe(true);
  });

  it('the gateway and the nodes each have probes, resources, a PodDisruptionBudget and an HPA', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['bflow-gateway', 'bflow-node']);
    for (const d of deployments) {
      const name = d.metadata.name;
      const podLabels = d.spec.template.metadata.labels;
      for (const c of d.spec.template.spec.containers) {
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
          expect(['/health', '/ready'], `${name} ${probe}`).toContain(c[probe]?.httpGet?.path);
        expect(c.resources?.requests?.cpu, `${name} cpu request (the HPA needs it)`).toBeDefined();
        expect(c.resources?.requests?.memory, `${name} memory request`).toBeDefined();
        expect(c.resources?.limits?.memory, `${name} memory limit`).toBeDefined();
        expect(c.lifecycle?.preStop, `${name} preStop`).toBeDefined();
        expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
      }
      expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      const pdbs = of('PodDisruptionBudget').filter((p) => matches(p.spec.selector.matchLabels, podLabels));
      expect(pdbs, `${name}: one PDB`).toHaveLength(1);
      const hpas = of('HorizontalPodAutoscaler').filter(
        (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === name,
      );
      expect(hpas, `${name}: one HPA`).toHaveLength(1);
      expect(hpas[0].spec.minReplicas).toBeGreaterThanOrEqual(2);
    }
  });

  it('the gateway readiness is /ready; the probes use ports the container declares', () => {
    for (const d of deployments)
      for (const c of d.spec.template.spec.containers) {
        const ports = c.ports.map((p: any) => p.name);
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
          expect(ports).toContain(c[probe].httpGet.port);
      }
    const gateway = deployments.find((d) => d.metadata.name === 'bflow-gateway');
    expect(gateway.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/ready');
  });

  it('a node is given time to hand its shards over: grace period > preStop + twice the lease TTL', () => {
    const node = deployments.find((d) => d.metadata.name === 'bflow-node');
    const spec = node.spec.template.spec;
    const [sleep, seconds] = spec.containers[0].lifecycle.preStop.exec.command;
    expect(sleep).toBe('sleep');
    const preStop = Number(seconds);
    const leaseTtl = Number(configMap.data.BFLOW_LEASE_TTL_MS) / 1000;
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + 2 * leaseTtl);
    // The replacement starts before the old node stops (a rolling update never leaves the cluster a node short).
    expect(node.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  });

  it('every variable a pod gets is one of src/app/config.ts, and is enough for its role to start', () => {
    for (const name of [...Object.keys(configMap.data), ...Object.keys(secret.stringData)])
      expect(CONFIG_VARIABLES, name).toContain(name);
    const workloads = [...deployments, ...of('Job')].map((w) => ({
      name: w.metadata.name,
      container: w.spec.template.spec.containers[0],
    }));
    for (const { name, container } of workloads) {
      const env = containerEnv(container);
      for (const variable of Object.keys(env)) expect(CONFIG_VARIABLES, `${name}: ${variable}`).toContain(variable);
      const verb = container.args[0];
      if (verb === 'migrate') {
        expect(env.BFLOW_MYSQL_URL, `${name}: migrate needs BFLOW_MYSQL_URL`).toMatch(/^mysql:\/\//);
        continue;
      }
      const config = loadServerConfig(env, verb as ServerRole);
      expect(config.embedded, `${name} runs on a cluster`).toBe(false);
      expect(config.metricsPort).toBe(9464);
      const metricsPort = container.ports.find((p: any) => p.name === 'metrics').containerPort;
      expect(metricsPort).toBe(config.metricsPort);
      if (verb === 'gateway')
        expect(container.ports.find((p: any) => p.name === 'http').containerPort).toBe(config.port);
    }
  });

  it('the ServiceMonitor scrapes the metrics port of both Services', () => {
    const [monitor] = of('ServiceMonitor');
    const services = of('Service').filter((s) => matches(monitor.spec.selector.matchLabels, s.metadata.labels));
    expect(services.map((s) => s.metadata.name).sort()).toEqual(['bflow-gateway', 'bflow-node']);
    for (const endpoint of monitor.spec.endpoints)
      for (const s of services) expect(s.spec.ports.map((p: any) => p.name)).toContain(endpoint.port);
  });

  it('the PrometheusRule holds exactly the rule groups of deploy/prometheus/rules', () => {
    const [rule] = of('PrometheusRule');
    const files = ['bflow-recording.yml', 'bflow-alerts.yml'].flatMap(
      (f) => readYaml<any>(`prometheus/rules/${f}`).groups,
    );
    expect(rule.spec.groups, 'run node scripts/prometheus-rule.mjs').toEqual(files);
  });

  it('the documented custom-metric HPA variant is a valid HorizontalPodAutoscaler', async () => {
    const text = readFileSync(`${ROOT}docs/operations.md`, 'utf8');
    const block = /<!-- hpa-custom-metric -->\s*```yaml\n([\s\S]*?)```/.exec(text)?.[1];
    expect(block, 'docs/operations.md has the custom-metric HPA').toBeDefined();
    const [hpa] = parseAllDocuments(block!).map((d) => d.toJS());
    await validateObject(hpa);
    expect(hpa.spec.metrics[0].type).toBe('Pods');
    expect(hpa.spec.scaleTargetRef.name).toBe('bflow-node');
  });
});
