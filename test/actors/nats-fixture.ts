import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { testNatsUrl } from '../harness/nats-server.ts';

/** A subject prefix (and stream-name stem) no other test uses, so tests share one server safely. */
export function uniquePrefix(area: string): string {
  return `t${randomUUID().replaceAll('-', '').slice(0, 12)}_${area}`;
}

/**
 * A plain connection to the test server (the shared one, else a private
 * nats-server); no reconnect loop, so a lost server fails the test at once.
 */
export async function connectTestNats(name: string): Promise<NatsConnection> {
  return connect({ servers: await testNatsUrl(), name, timeout: 2_000, reconnect: false });
}
