import type { AppConfig, WorkflowStore } from './ports.ts';

/**
 * A WorkflowStore that reports each tenant whose app configs or published
 * versions it changed (after the write), so the nodes' start caches of it can
 * be dropped. Drafts are not reported: starts never read them.
 */
export function invalidatingWorkflows(inner: WorkflowStore, changed: (tenant: string) => void): WorkflowStore {
  return {
    createWorkflow: (tenant, id, definition, now) => inner.createWorkflow(tenant, id, definition, now),
    updateDraft: (tenant, id, definition, now) => inner.updateDraft(tenant, id, definition, now),
    getWorkflow: (tenant, id) => inner.getWorkflow(tenant, id),
    listWorkflows: (tenant, app) => inner.listWorkflows(tenant, app),
    async publish(tenant, id, now, meta) {
      const published = await inner.publish(tenant, id, now, meta);
      if (published) changed(tenant);
      return published;
    },
    getVersion: (tenant, id, version) => inner.getVersion(tenant, id, version),
    listVersions: (tenant, id) => inner.listVersions(tenant, id),
    appConfigsOf: (tenant, workflowId) => inner.appConfigsOf(tenant, workflowId),
    async setAppConfig(config: AppConfig) {
      await inner.setAppConfig(config);
      changed(config.tenant);
    },
    getAppConfig: (tenant, app, companyId) => inner.getAppConfig(tenant, app, companyId),
  };
}
