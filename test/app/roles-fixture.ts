import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BflowProcess, spawnBflow, waitReady } from '../e2e/stack.ts';
import { asymmetricToken } from '../gateway/gateway-fixture.ts';
import { waitFor } from '../harness/wait.ts';

export { BflowProcess, spawnBflow, waitReady };

/** The JSON log lines a process wrote to stderr so far. */
export function logLines(process: BflowProcess): { level: number; msg?: string; [field: string]: unknown }[] {
  return process.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { level: number; msg?: string }];
      } catch {
        return []; // the last line may still be incomplete
      }
    });
}

/** The Prometheus text at `url`, and the value of one sample (summed over the label sets that match). */
export async function metricsAt(url: string): Promise<{ text: string; value(name: string, labels?: string): number }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  const text = await res.text();
  const value = (name: string, labels = ''): number =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .filter((line) => labels === '' || line.includes(labels))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return { text, value };
}

/** `count` GETs of an authenticated route as one caller; the statuses and the last answer's Retry-After. */
export async function burst(
  url: string,
  token: string,
  count: number,
): Promise<{ statuses: number[]; retryAfter: number | undefined }> {
  const statuses: number[] = [];
  let retryAfter: number | undefined;
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${url}/api/v1/tasks`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    statuses.push(res.status);
    const header = res.headers.get('retry-after');
    retryAfter = header === null ? undefined : Number(header);
  }
  return { statuses, retryAfter };
}

/** A JWKS endpoint on 127.0.0.1 with one RSA key, and tokens signed by it. */
export interface JwksServer {
  url: string;
  token(claims: { sub: string; tid: string; roles: string[] }): string;
  close(): Promise<void>;
}

export async function startJwksServer(): Promise<JwksServer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `k-${randomBytes(4).toString('hex')}`;
  const body = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] });
  const server: Server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(body),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    token: (claims) => rs256(privateKey, kid, claims),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function rs256(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const iat = Math.floor(Date.now() / 1000);
  return asymmetricToken({ ...claims, iat, exp: iat + 3600 }, key, { alg: 'RS256', typ: 'JWT', kid });
}

/** Waits until a process has exited and returns its exit code; one still running at the deadline is killed, and the failure shows what it printed. */
export async function exitOf(process: BflowProcess, deadlineMs = 30_000): Promise<number | null> {
  await waitFor(() => !process.running, { deadlineMs, what: 'the process to exit' }).catch((err: Error) => {
    process.child.kill('SIGKILL');
    throw new Error(`${err.message}; it printed:\n${process.stdout}\n${process.stderr.slice(-3000)}`, { cause: err });
  });
  return process.exited;
}
