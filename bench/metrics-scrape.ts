/**
 * bench/metrics-scrape — reads a Prometheus text endpoint (a node's metrics
 * port, the gateway's /metrics) into `name{labels}` → value.
 */
export type Samples = Map<string, number>;

export async function scrape(url: string, timeoutMs = 5000): Promise<Samples> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const samples: Samples = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Sum of every sample of `name` (any labels) whose labels match `labelFilter`. */
export function sumOf(samples: Samples, name: string, labelFilter: (labels: string) => boolean = () => true): number {
  let sum = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric === name && labelFilter(brace < 0 ? '' : key.slice(brace))) sum += value;
  }
  return sum;
}
