import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusError } from '../../../src/actors/errors.ts';
import { NatsShardBus } from '../../../src/actors/bus/nats-shard-bus.ts';
import type { ShardBus, ShardMessage, ShardReply, ShardRequest } from '../../../src/actors/bus/ports.ts';
import { connectTestNats, uniquePrefix } from '../nats-fixture.ts';
import type { RuntimeState } from '../../../src/engine/index.ts';

export interface ShardBusSubject {
  /** A server-side and a client-side bus (they may be the same object) on a private namespace. */
  server: ShardBus;
  client: ShardBus;
  cleanup(): Promise<void>;
}

/** A command request for runtime `runtimeId`. */
/** Server and client buses on separate NATS connections (as node and gateway are), under a unique prefix. */
export async function natsBusSubject(area: string): Promise<ShardBusSubject> {
  const prefix = uniquePrefix(area);
  const [serverNc, clientNc] = await Promise.all([
    connectTestNats(`${area}-server`),
    connectTestNats(`${area}-client`),
  ]);
  const server = new NatsShardBus(serverNc, { prefix });
  const client = new NatsShardBus(clientNc, { prefix });
  return {
    server,
    client,
    cleanup: async () => {
      await Promise.all([server.close(), client.close()]);
      await Promise.all([serverNc.close(), clientNc.close()]);
    },
  };
}

export function commandRequest(runtimeId: string, key = `key-${runtimeId}`): ShardRequest {
  return {
    kind: 'command',
    tenant: 'acme',
    runtimeId,
    command: { type: 'approve', actor: 'alice', comment: 'ok' },
    idempotencyKey: key,
  };
}

/** A reply echoing the request (the state's contents do not matter to the bus). */
export function echoReply(request: ShardMessage): ShardReply {
  const echo = request.kind === 'read' ? 'read' : request.idempotencyKey;
  return { ok: true, state: { id: request.runtimeId, echo } as unknown as RuntimeState };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The ShardBus contract: every adapter (NATS, in-process) must pass it. */
export function shardBusContract(name: string, makeSubject: () => Promise<ShardBusSubject>): void {
  describe(`shard bus (${name})`, () => {
    let s: ShardBusSubject;
    beforeEach(async () => {
      s = await makeSubject();
    });
    afterEach(async () => {
      await s.cleanup();
    });

    it('shard bus - serve and request round trip the request and the reply', async () => {
      const seen: ShardMessage[] = [];
      await s.server.serve(3, async (request) => {
        seen.push(request);
        return echoReply(request);
      });
      const request = commandRequest('rt-1');
      const reply = await s.client.request(3, request, 2_000);
      expect(reply).toEqual(echoReply(request));
      expect(seen).toEqual([request]);
    });

    it('shard bus - headers sent with a request reach the handler; a request without headers brings none', async () => {
      const seen: (Record<string, string> | undefined)[] = [];
      await s.server.serve(4, async (request, headers) => {
        seen.push(headers && { ...headers });
        return echoReply(request);
      });
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await s.client.request(4, commandRequest('rt-h'), 2_000, { traceparent, tracestate: 'k=v' });
      await s.client.request(4, commandRequest('rt-h2'), 2_000);
      expect(seen[0]).toEqual({ traceparent, tracestate: 'k=v' });
      expect(seen[1] === undefined || Object.keys(seen[1]).length === 0).toBe(true);
    });

    it('shard bus - a shard nobody serves fails fast with no_responders', async () => {
      await s.server.serve(1, async (r) => echoReply(r));
      const started = performance.now();
      const err = await rejection(s.client.request(2, commandRequest('rt-2'), 5_000));
      expect(err).toBeInstanceOf(BusError);
      expect(err).toMatchObject({ code: 'no_responders', retryable: true });
      expect(performance.now() - started).toBeLessThan(1_000);
    });

    it('shard bus - a handler that throws answers an internal problem without a stack', async () => {
      await s.server.serve(4, async () => {
        throw new Error('secret detail');
      });
      const reply = await s.client.request(4, commandRequest('rt-3'), 2_000);
      expect(reply).toEqual({ ok: false, problem: { code: 'internal', message: 'internal error', retryable: false } });
      expect(JSON.stringify(reply)).not.toContain('secret');
    });

    it('shard bus - a slow handler makes the request time out', async () => {
      await s.server.serve(5, (r) => new Promise((resolve) => setTimeout(() => resolve(echoReply(r)), 500)));
      const err = await rejection(s.client.request(5, commandRequest('rt-4'), 100));
      expect(err).toMatchObject({ name: 'BusError', code: 'timeout' });
    });

    it('shard bus - unsubscribing stops answering', async () => {
      const stop = await s.server.serve(6, async (r) => echoReply(r));
      await s.client.request(6, commandRequest('rt-5'), 2_000);
      await stop();
      const err = await rejection(s.client.request(6, commandRequest('rt-5'), 2_000));
      expect(err).toMatchObject({ code: 'no_responders' });
      await stop(); // idempotent
    });

    it('shard bus - a handler already running when serving stops still replies', async () => {
      let release = (): void => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started = (): void => undefined;
      const running = new Promise<void>((resolve) => (started = resolve));
      const stop = await s.server.serve(10, async (r) => {
        started();
        await gate;
        return echoReply(r);
      });
      const request = commandRequest('rt-drain');
      const pending = s.client.request(10, request, 2_000);
      await running;
      await stop();
      release();
      expect(await pending).toEqual(echoReply(request));
    });

    it('shard bus - concurrent requests to several shards each get their own reply', async () => {
      for (const shard of [0, 1, 2, 3]) {
        await s.server.serve(shard, async (r) => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
          return { ok: true, state: { shard, id: r.runtimeId } as unknown as RuntimeState };
        });
      }
      const calls = Array.from({ length: 200 }, (_, i) => s.client.request(i % 4, commandRequest(`rt-${i}`), 5_000));
      const replies = await Promise.all(calls);
      replies.forEach((reply, i) => expect(reply).toEqual({ ok: true, state: { shard: i % 4, id: `rt-${i}` } }));
    });

    it('shard bus - a handler serves requests concurrently, not one at a time', async () => {
      let inFlight = 0;
      let peak = 0;
      await s.server.serve(7, async (r) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 50));
        inFlight -= 1;
        return echoReply(r);
      });
      await Promise.all(Array.from({ length: 10 }, (_, i) => s.client.request(7, commandRequest(`c-${i}`), 5_000)));
      expect(peak).toBe(10);
    });

    it('shard bus - two servers of one shard (a handover) answer once, first reply wins', async () => {
      await s.server.serve(8, async (r) => echoReply(r));
      await s.server.serve(8, async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return echoReply(r);
      });
      const request = commandRequest('rt-h');
      expect(await s.client.request(8, request, 2_000)).toEqual(echoReply(request));
    });

    it('shard bus - values that do not survive JSON arrive as they would over the wire', async () => {
      await s.server.serve(9, async (r) => ({
        ok: true,
        state: { got: r, at: new Date(0) } as unknown as RuntimeState,
      }));
      const request = { ...commandRequest('rt-w'), expectedRevision: undefined };
      const reply = await s.client.request(9, request, 2_000);
      expect(reply).toEqual({ ok: true, state: { got: commandRequest('rt-w'), at: '1970-01-01T00:00:00.000Z' } });
    });

    it('shard bus - a closed bus refuses requests with bus_unavailable', async () => {
      await s.client.close();
      const err = await rejection(s.client.request(1, commandRequest('rt-c'), 1_000));
      expect(err).toMatchObject({ code: 'bus_unavailable' });
    });
  });
}
