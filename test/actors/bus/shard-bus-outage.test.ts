import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../../src/actors/nats/connection.ts';
import { NatsShardBus } from '../../../src/actors/bus/nats-shard-bus.ts';
import type { ShardRequest } from '../../../src/actors/bus/ports.ts';
import { startPrivateNats, type PrivateNats } from '../../harness/nats-server.ts';
import { waitFor } from '../../harness/wait.ts';

let nats: PrivateNats | undefined;
const conns: NatsConnection[] = [];
afterAll(async () => {
  await Promise.all(conns.map((nc) => nc.close().catch(() => undefined)));
  await nats?.destroy();
});

const REQUEST = { kind: 'command' } as unknown as ShardRequest;

describe('nats shard bus - NATS outage', () => {
  it('nats shard bus outage - while the connection is lost a request fails at once with bus_unavailable (not after its timeout), and works again after the reconnect', async () => {
    nats = await startPrivateNats();
    const connect = async (name: string) => {
      const nc = await connectNats({ url: nats!.url, name, reconnectDelayMs: 50, maxReconnectDelayMs: 200 });
      conns.push(nc);
      return nc;
    };
    const server = new NatsShardBus(await connect('outage-server'), { prefix: 'outage' });
    const client = new NatsShardBus(await connect('outage-client'), { prefix: 'outage' });
    await server.serve(3, async () => ({ ok: true, state: {} as never }));
    expect(await client.request(3, REQUEST, 2_000)).toEqual({ ok: true, state: {} });

    await nats.stop();
    // Until the client has seen the socket close, a request is still buffered (short probes wait for that moment).
    const refused = (timeoutMs: number) =>
      client.request(3, REQUEST, timeoutMs).then(
        () => undefined,
        (err: { code?: string }) => err.code,
      );
    await waitFor(async () => (await refused(200)) === 'bus_unavailable', {
      deadlineMs: 10_000,
      what: 'the client noticed the disconnect',
    });
    // Then a request with a 60 s timeout is refused at once: waiting it out would exceed the test's own timeout.
    expect(await refused(60_000)).toBe('bus_unavailable');

    await nats.start();
    const again = await waitFor(() => client.request(3, REQUEST, 1_000).catch(() => undefined), {
      deadlineMs: 15_000,
      what: 'a reply after the reconnect',
    });
    expect(again).toEqual({ ok: true, state: {} });
  }, 40_000);
});
