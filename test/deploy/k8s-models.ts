/**
 * Validates a Kubernetes object against the schema of its apiVersion and kind, with the models of npm
 * kubernetes-models (core groups) and @kubernetes-models/prometheus-operator (ServiceMonitor,
 * PrometheusRule). Throws naming the object and what is wrong.
 */
export async function validateObject(object: { apiVersion?: string; kind?: string; metadata?: { name?: string } }) {
  const { apiVersion, kind } = object;
  if (!apiVersion || !kind) throw new Error(`an object without apiVersion or kind: ${JSON.stringify(object)}`);
  const what = `${kind} ${object.metadata?.name ?? '(no name)'}`;
  const modulePath = apiVersion.startsWith('monitoring.coreos.com/')
    ? `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion}/${kind}`;
  let Model: new (data: unknown) => { validate(): void };
  try {
    Model = (await import(modulePath))[kind];
  } catch {
    throw new Error(`${what}: no model for ${apiVersion} ${kind} (a typo, or an API version Kubernetes removed?)`);
  }
  try {
    new Model(object).validate();
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}
