import { describe, expect, it } from 'vitest';
import { NatsShardBus } from '../../../src/actors/bus/nats-shard-bus.ts';
import { connectTestNats, uniquePrefix } from '../nats-fixture.ts';
import { natsBusSubject, shardBusContract } from './shard-bus.contract.ts';

// Server and client on separate connections, as node and gateway are.
shardBusContract('nats', () => natsBusSubject('bus'));

describe('nats shard bus', () => {
  it('nats shard bus - closing the bus while its connection closes does not hang', async () => {
    const nc = await connectTestNats('bus-close-race');
    const bus = new NatsShardBus(nc, { prefix: uniquePrefix('race') });
    const stop = await bus.serve(1, async () => ({
      ok: false,
      problem: { code: 'x', message: 'x', retryable: false },
    }));
    await Promise.all([stop(), bus.close(), nc.close()]);
    await expect(bus.request(1, { kind: 'command' } as never, 100)).rejects.toMatchObject({ code: 'bus_unavailable' });
  });

  it('nats shard bus - requests travel on <prefix>.shard.<n>', async () => {
    const nc = await connectTestNats('bus-subject');
    const prefix = uniquePrefix('subj');
    const sub = nc.subscribe(`${prefix}.shard.42`, {
      max: 1,
      callback: (_err, msg) => void msg.respond('{"ok":true,"state":{}}'),
    });
    await nc.flush();
    const bus = new NatsShardBus(nc, { prefix });
    expect(await bus.request(42, { kind: 'command' } as never, 1_000)).toEqual({ ok: true, state: {} });
    sub.unsubscribe();
    await nc.close();
  });
});
