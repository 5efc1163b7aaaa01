import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Actor } from './actor.ts';
import { ActorRegistry } from './actor-registry.ts';
import { Mailboxes } from './mailbox.ts';

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

describe('mailbox - ordering', () => {
  it('tasks of one key run one at a time in arrival order; other keys run alongside', async () => {
    const boxes = new Mailboxes();
    const trace: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const task = (label: string) => async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      trace.push(`${label}>`);
      await tick();
      trace.push(`<${label}`);
      running -= 1;
      return label;
    };
    const results = await Promise.all([
      boxes.run('a', 0, task('a1')),
      boxes.run('a', 0, task('a2')),
      boxes.run('b', 1, task('b1')),
    ]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    const a = trace.filter((t) => t.includes('a'));
    expect(a).toEqual(['a1>', '<a1', 'a2>', '<a2']);
    expect(maxRunning).toBe(2);
    expect(boxes.depth('a')).toBe(0);
  });

  it('a failing task rejects its caller and does not block the next one', async () => {
    const boxes = new Mailboxes();
    const failed = boxes.run('a', 0, () => Promise.reject(new Error('boom')));
    const next = boxes.run('a', 0, async () => 'next');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
  });

  it('whenIdle waits for every task of the shard, those queued meanwhile too; the depth gauge follows', async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: 'depth', help: 'depth', registers: [registry] });
    const boxes = new Mailboxes(gauge);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    void boxes.run('a', 3, () => held);
    void boxes.run('b', 3, () => held);
    void boxes.run('c', 4, async () => undefined);
    expect(boxes.pending(3)).toBe(2);
    expect((await gauge.get()).values[0]?.value).toBe(3);
    let idle = false;
    const waiting = boxes.whenIdle(3).then(() => (idle = true));
    await tick();
    expect(idle).toBe(false);
    release();
    await waiting;
    expect(boxes.pending(3)).toBe(0);
    expect((await gauge.get()).values[0]?.value).toBe(0);
  });
});

describe('actor registry - passivation', () => {
  const registry = new Registry();
  const metrics = {
    actorsLive: new Gauge({ name: 'live', help: 'live', registers: [registry] }),
    passivations: new Counter({ name: 'passivations', help: 'p', labelNames: ['reason'], registers: [registry] }),
  };
  const actor = (key: string, shard = 0): Actor => ({
    key,
    tenant: 't',
    runtimeId: key,
    shard,
    state: {} as Actor['state'],
    wf: {} as Actor['wf'],
    recent: new Map(),
    lastUsed: 0,
    confirmed: true,
  });

  it('beyond maxLiveActors the least recently used idle actors go; busy ones stay', () => {
    const busy = new Set(['a']);
    const actors = new ActorRegistry({ idleMs: 1000, maxLiveActors: 2, busy: (k) => busy.has(k), metrics });
    actors.add(actor('a'), 0);
    actors.add(actor('b'), 1);
    actors.touch(actors.get('b')!, 2);
    actors.add(actor('c'), 3);
    expect(actors.get('a')).toBeDefined(); // oldest but busy
    expect(actors.get('b')).toBeUndefined();
    expect(actors.size).toBe(2);
  });

  it('idle actors are passivated after idleMs; a shard can be dropped whole', () => {
    const actors = new ActorRegistry({ idleMs: 1000, maxLiveActors: 10, busy: () => false, metrics });
    actors.add(actor('a', 1), 0);
    actors.add(actor('b', 2), 500);
    actors.add(actor('c', 2), 900);
    expect(actors.passivateIdle(1000)).toBe(1);
    expect(actors.get('a')).toBeUndefined();
    actors.dropShard(2);
    expect(actors.size).toBe(0);
  });
});
