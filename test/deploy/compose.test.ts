import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadServerConfig, type ServerRole } from '../../src/app/config.ts';
import { DEPLOY, interpolate, readEnvFile, readYaml } from './deploy-files.ts';

/**
 * deploy/compose/compose.yaml, parsed as Docker Compose reads it (merge keys, ${VAR} from .env.example):
 * the services the issue asks for, a healthcheck on each long-running one, start order by depends_on
 * conditions, bflow environments that name only src/app/config.ts variables and start their role, and
 * mounts and scrape targets that exist. No Docker daemon runs here, so `docker compose config` is not run.
 */
const compose = readYaml<any>('compose/compose.yaml');
const vars = readEnvFile('compose/.env.example');
const services: Record<string, any> = compose.services;
const BFLOW = ['migrate', 'node-1', 'node-2', 'node-3', 'gateway-1', 'gateway-2'];

const verbOf = (name: string) => interpolate(services[name].command[0], vars);
const envOf = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(services[name].environment).map(([k, v]) => [k, interpolate(String(v), vars)]));

describe('deploy - docker compose', () => {
  it('has the databases, NATS, the migrate job, 3 nodes, 2 gateways, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(
      [...BFLOW, 'mariadb', 'redis', 'nats', 'prometheus', 'grafana'].sort(),
    );
    expect(services.nats.command).toContain('-js');
    for (const name of BFLOW) expect(services[name].build.dockerfile).toBe('deploy/docker/Dockerfile');
    expect(existsSync(resolve(DEPLOY, 'compose', services['node-1'].build.context, 'deploy/docker/Dockerfile'))).toBe(
      true,
    );
  });

  it('every long-running service has a healthcheck; the migrate job has none and does not restart', () => {
    for (const [name, s] of Object.entries(services)) {
      if (name === 'migrate') {
        expect(s.healthcheck).toEqual({ disable: true });
        expect(s.restart).toBe('no');
        continue;
      }
      expect(s.healthcheck?.test, `${name} healthcheck`).toBeDefined();
      expect(s.healthcheck.test[0]).toBe('CMD');
    }
  });

  it('start order: the migrate job waits for a healthy MariaDB, bflow waits for the migration, NATS and Redis', () => {
    expect(services.migrate.depends_on).toEqual({ mariadb: { condition: 'service_healthy' } });
    for (const name of BFLOW.filter((n) => n !== 'migrate'))
      expect(services[name].depends_on, name).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        nats: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    for (const [name, s] of Object.entries(services))
      for (const [dep, { condition }] of Object.entries<any>(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        if (condition === 'service_healthy')
          expect(services[dep].healthcheck?.test, `${dep} healthcheck`).toBeDefined();
      }
  });

  it('nodes get the drain time they need and a node id of their own', () => {
    const ids = new Set<string>();
    for (const name of BFLOW.filter((n) => n !== 'migrate')) {
      expect(services[name].stop_grace_period).toBe('60s');
      ids.add(envOf(name).BFLOW_NODE_ID!);
    }
    expect(ids.size).toBe(5);
  });

  it('every bflow environment names only configuration variables and starts its role', () => {
    for (const name of BFLOW) {
      const env = envOf(name);
      for (const variable of Object.keys(env)) expect(CONFIG_VARIABLES, `${name}: ${variable}`).toContain(variable);
      const verb = verbOf(name);
      if (verb === 'migrate') continue;
      const config = loadServerConfig(env, verb as ServerRole);
      expect(config.embedded).toBe(false);
      expect(config.metricsPort).toBe(9464);
    }
  });

  it('the topology is a value: BFLOW_NODE_ROLE=all runs the co-located role, and gateways are a profile', () => {
    expect(verbOf('node-1')).toBe('node');
    expect(interpolate(services['node-1'].command[0], { ...vars, BFLOW_NODE_ROLE: 'all' })).toBe('all');
    const colocated = loadServerConfig(envOf('node-1'), 'all');
    expect(colocated.role).toBe('all');
    for (const name of ['gateway-1', 'gateway-2']) expect(services[name].profiles).toEqual(['gateways']);
    expect(vars.COMPOSE_PROFILES).toBe('gateways');
  });

  it('the mounted directories exist, and Prometheus scrapes every bflow service on its metrics port', () => {
    for (const [name, s] of Object.entries(services))
      for (const volume of s.volumes ?? []) {
        const source = String(volume).split(':')[0]!;
        if (!source.startsWith('.')) continue;
        expect(statSync(resolve(DEPLOY, 'compose', source)).isDirectory(), `${name}: ${source}`).toBe(true);
      }
    const prometheus = readYaml<any>('prometheus/prometheus.yml');
    const targets = prometheus.scrape_configs.flatMap((j: any) => j.static_configs.flatMap((c: any) => c.targets));
    expect(targets.sort()).toEqual(
      BFLOW.filter((n) => n !== 'migrate')
        .map((n) => `${n}:9464`)
        .sort(),
    );
  });
});
