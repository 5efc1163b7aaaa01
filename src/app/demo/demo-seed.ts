import { readFile } from 'node:fs/promises';
import { validateDefinition, type WorkflowDefinition } from '../../engine/index.ts';
import { employees, groups } from './org-chart.ts';
import type { DirectoryStore, WorkflowStore } from '../../store/ports.ts';

/** The demo tenant `npm start` seeds. */
export const DEMO_TENANT = 'demo';

/** The example workflows of `examples/`, each bound to its app in `apply` mode. */
export const DEMO_EXAMPLES = ['purchase-order', 'leave-request', 'expense-claim', 'contract-review'] as const;

export interface DemoSeed {
  tenant: string;
  /** Workflow id → app. */
  workflows: { id: string; app: string; version: number }[];
}

/**
 * Seeds a tenant with the demo company (org chart) and the four example
 * workflows, published and bound to their apps: right after `npm start`, a
 * purchase order can be started. Idempotent on a fresh store only (ids are fixed).
 */
export async function seedDemo(
  stores: { directory: DirectoryStore; workflows: WorkflowStore },
  tenant = DEMO_TENANT,
  now = Date.now(),
): Promise<DemoSeed> {
  await stores.directory.upsertGroups(tenant, groups);
  await stores.directory.upsertEmployees(tenant, employees);
  const seeded: DemoSeed['workflows'] = [];
  for (const name of DEMO_EXAMPLES) {
    const definition = await loadExample(name);
    const id = `wf-${name}`;
    await stores.workflows.createWorkflow(tenant, id, definition, now);
    const published = await stores.workflows.publish(tenant, id, now);
    if (!published) throw new Error(`demo seed: workflow ${id} vanished before publish`);
    await stores.workflows.setAppConfig({ tenant, companyId: '', app: definition.app, mode: 'apply', workflowId: id });
    seeded.push({ id, app: definition.app, version: published.version });
  }
  return { tenant, workflows: seeded };
}

/** Reads and validates `examples/<name>.json` (shipped with the package). */
export async function loadExample(name: string): Promise<WorkflowDefinition> {
  const file = new URL(`../../../examples/${name}.json`, import.meta.url);
  const result = validateDefinition(JSON.parse(await readFile(file, 'utf8')));
  if (!result.ok)
    throw new Error(
      `examples/${name}.json is invalid: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  return result.definition;
}
