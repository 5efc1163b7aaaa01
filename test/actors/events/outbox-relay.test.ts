import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { eventMsgId, eventSubject } from '../../../src/actors/events/event-subject.ts';
import { MemoryEventPublisher } from '../../../src/actors/events/memory-event-publisher.ts';
import {
  OutboxRelay,
  registerOutboxMetrics,
  type OutboxRelayOptions,
} from '../../../src/actors/events/outbox-relay.ts';
import type { EventPublisher } from '../../../src/actors/events/ports.ts';
import type { PublishedMark } from '../../../src/store/ports.ts';
import type { DomainEvent } from '../../../src/engine/index.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { waitFor } from '../../harness/wait.ts';
import { commitOk, step, uniqueShard, uniqueTenant } from '../../store/fixtures.ts';

const PREFIX = 'bflowtest';
const relays: OutboxRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});

function relay(o: Partial<OutboxRelayOptions> & Pick<OutboxRelayOptions, 'store' | 'publisher'>): OutboxRelay {
  const r = new OutboxRelay({ prefix: PREFIX, pollMs: 5, backoffMinMs: 5, backoffMaxMs: 20, ...o });
  relays.push(r);
  return r;
}

/** Wraps the twin: fails while `down`, or on chosen call numbers (from 1); records every call. */
class FlakyPublisher implements EventPublisher {
  down = false;
  readonly failCalls = new Set<number>();
  readonly calls: string[] = [];
  failures = 0;
  constructor(readonly inner: MemoryEventPublisher) {}

  async publish(subject: string, eventId: string, payload: Uint8Array): Promise<void> {
    const n = this.calls.push(eventId);
    await new Promise((r) => setImmediate(r)); // acks arrive later, so a batch is really in flight together
    if (this.down || this.failCalls.has(n)) {
      this.failures += 1;
      throw new Error(`publish ${n} failed`);
    }
    await this.inner.publish(subject, eventId, payload);
  }
}

/** Commits `runtimes` one-step runtimes with `events` events each; returns the events in commit order. */
async function commitEvents(
  store: MemoryStore,
  tenant: string,
  shard: number,
  runtimes: number,
  events: number,
): Promise<DomainEvent[]> {
  const out: DomainEvent[] = [];
  for (let i = 0; i < runtimes; i++) {
    const record = step({ tenant, id: `r${i}`, shard, events });
    await commitOk(store, record);
    out.push(...record.effects.events);
  }
  return out;
}

const pending = async (store: MemoryStore, shard: number) => (await store.unpublishedEvents(shard, 500)).length;
// The stream de-duplicates on the tenant-qualified id; the payload carries the event id.
const storedIds = (twin: MemoryEventPublisher) =>
  twin.messages().map((m) => (JSON.parse(Buffer.from(m.payload).toString('utf8')) as { id: string }).id);
const storedMsgIds = (twin: MemoryEventPublisher) => twin.messages().map((m) => m.msgId);

describe('outbox relay', () => {
  it('outbox relay - events are published once, in position order, on their subjects, and marked', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const events = await commitEvents(store, tenant, shard, 7, 3);
    const twin = new MemoryEventPublisher({ prefix: PREFIX, duplicateWindowMs: 0 }); // no de-duplication: a re-publish would show
    const registry = new Registry();
    relay({ store, publisher: twin, batch: 2, metrics: registerOutboxMetrics(registry) }).openShard(shard);
    await waitFor(async () => (await pending(store, shard)) === 0, { what: 'the outbox drained' });
    expect(storedIds(twin)).toEqual(events.map((e) => e.id));
    const first = twin.messages()[0]!;
    expect(first.subject).toBe(eventSubject(PREFIX, events[0]!));
    expect(storedMsgIds(twin)).toEqual(events.map((e) => eventMsgId(e)));
    expect(JSON.parse(new TextDecoder().decode(first.payload))).toEqual(events[0]);
    const text = await registry.metrics();
    expect(text).toContain('bflow_outbox_published_total 21');
    expect(text).toContain('bflow_outbox_lag_seconds_count 21');
    expect(text).toContain(`bflow_outbox_unpublished{shard="${shard}"} 0`);
  });

  it('outbox relay - wake() publishes a commit without waiting for the slow poll', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const twin = new MemoryEventPublisher({ prefix: PREFIX });
    let polls = 0;
    const counted = {
      unpublishedEvents: (sh: number, n: number) => (polls++, store.unpublishedEvents(sh, n)),
      markPublished: (marks: readonly PublishedMark[]) => store.markPublished(marks),
    };
    const r = relay({ store: counted, publisher: twin, pollMs: 600_000 });
    r.openShard(shard);
    await waitFor(() => polls === 1, { what: 'the first (empty) poll' });
    const [event] = await commitEvents(store, tenant, shard, 1, 1);
    r.wake(shard);
    await waitFor(() => twin.messages().length === 1, { what: 'the woken publish', deadlineMs: 5000 });
    expect(storedIds(twin)).toEqual([event!.id]);
    expect(polls).toBe(2);
  });

  it('outbox relay - a publisher outage backs off, then everything is published once and in order', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const twin = new MemoryEventPublisher({ prefix: PREFIX, duplicateWindowMs: 0 });
    const flaky = new FlakyPublisher(twin);
    flaky.down = true;
    const registry = new Registry();
    const r = relay({ store, publisher: flaky, batch: 4, metrics: registerOutboxMetrics(registry) });
    r.openShard(shard);
    const events = await commitEvents(store, tenant, shard, 10, 2);
    r.wake(shard);
    await waitFor(() => flaky.failures >= 3 * 8, { what: 'three failed rounds' });
    expect(twin.messages()).toEqual([]);
    expect(await pending(store, shard)).toBe(20);
    flaky.down = false;
    await waitFor(async () => (await pending(store, shard)) === 0, { what: 'the outbox drained' });
    expect(storedIds(twin)).toEqual(events.map((e) => e.id));
    expect(await registry.metrics()).toContain(`bflow_outbox_publish_failures_total ${flaky.failures}`);
  });

  it("outbox relay - two tenants' runtimes with the same id both have their events stored (the de-duplication id is tenant-qualified)", async () => {
    const store = new MemoryStore();
    const shard = uniqueShard();
    for (const tenant of [uniqueTenant(), uniqueTenant()]) {
      const record = step({ tenant, id: 'r0', shard, events: 2 });
      // Ids as the engine makes them (`<runtime>:<seq>:<index>`): the same in both tenants.
      record.effects.events = record.effects.events.map((e, i) => ({ ...e, id: `r0:1:${i}` }));
      await commitOk(store, record);
    }
    const twin = new MemoryEventPublisher({ prefix: PREFIX }); // de-duplicating, as the stream does
    relay({ store, publisher: twin, batch: 10 }).openShard(shard);
    await waitFor(async () => (await pending(store, shard)) === 0, { what: 'the outbox drained' });
    expect(storedIds(twin)).toEqual(['r0:1:0', 'r0:1:1', 'r0:1:0', 'r0:1:1']);
  });

  it('outbox relay - a failure inside a transition keeps the transition unmarked; the twin stores each event once', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const events = await commitEvents(store, tenant, shard, 4, 3);
    const twin = new MemoryEventPublisher({ prefix: PREFIX });
    const flaky = new FlakyPublisher(twin);
    flaky.failCalls.add(5); // the 2nd event of the 2nd transition; the 3rd and later are acknowledged ahead of it
    const registry = new Registry();
    relay({ store, publisher: flaky, batch: 10, metrics: registerOutboxMetrics(registry) }).openShard(shard);
    await waitFor(async () => (await pending(store, shard)) === 0, { what: 'the outbox drained' });
    expect([...storedIds(twin)].sort()).toEqual(events.map((e) => e.id).sort());
    // Round 1 marked only the first transition; round 2 re-published from the second one on.
    expect(flaky.calls).toEqual([...events, ...events.slice(3)].map((e) => eventMsgId(e)));
    const text = await registry.metrics();
    expect(text).toContain('bflow_outbox_publish_failures_total 1');
    expect(text).toContain('bflow_outbox_overtaken_total 7');
  });

  it('outbox relay - a closed shard is not relayed; reopening it resumes', async () => {
    const store = new MemoryStore();
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const twin = new MemoryEventPublisher({ prefix: PREFIX });
    const r = relay({ store, publisher: twin });
    r.openShard(shard);
    await r.closeShard(shard);
    const events = await commitEvents(store, tenant, shard, 2, 1);
    const other = uniqueShard();
    const [otherEvent] = await commitEvents(store, uniqueTenant(), other, 1, 1);
    r.openShard(other);
    r.wake();
    await waitFor(() => twin.messages().length === 1, { what: "the other shard's event" });
    expect(storedIds(twin)).toEqual([otherEvent!.id]);
    expect(await pending(store, shard)).toBe(2);
    r.openShard(shard);
    await waitFor(() => twin.messages().length === 3, { what: 'the reopened shard' });
    expect(storedIds(twin).slice(1)).toEqual(events.map((e) => e.id));
  });

  describe('committed(): events published from memory after their commit', () => {
    /** A store whose reads and marks are counted. */
    function counted(store: MemoryStore) {
      const counts = { polls: 0, marks: 0 };
      const wrapped = {
        unpublishedEvents: (sh: number, n: number) => (counts.polls++, store.unpublishedEvents(sh, n)),
        markPublished: (marks: readonly PublishedMark[]) => (counts.marks++, store.markPublished(marks)),
      };
      return { counts, wrapped };
    }

    /** Commits one-step runtimes and tells the relay as the host does; returns the events in commit order. */
    async function commitAndTell(
      r: OutboxRelay,
      store: MemoryStore,
      tenant: string,
      shard: number,
      ids: string[],
      events = 2,
    ): Promise<DomainEvent[]> {
      const out: DomainEvent[] = [];
      const outcomes = await Promise.all(
        ids.map((id) => store.commit(step({ tenant, id, shard, events })).then((o) => ({ id, o }))),
      );
      for (const { id, o } of outcomes) {
        if (!o.ok) throw new Error(`commit of ${id} failed: ${o.message}`);
        expect(o.outboxPosition).toBeTypeOf('number');
        const record = step({ tenant, id, shard, events });
        r.committed(shard, record.effects.events, o.outboxPosition);
        out.push(...record.effects.events);
      }
      return out;
    }

    it('outbox relay - a caught-up shard publishes committed events in commit order with no read, marked in coalesced updates', async () => {
      const store = new MemoryStore();
      const [tenant, shard] = [uniqueTenant(), uniqueShard()];
      const twin = new MemoryEventPublisher({ prefix: PREFIX, duplicateWindowMs: 0 }); // a re-publish would show
      const { counts, wrapped } = counted(store);
      const r = relay({ store: wrapped, publisher: twin, pollMs: 600_000 });
      r.openShard(shard);
      await waitFor(() => counts.polls === 1, { what: 'the first (empty) poll: the shard is caught up' });
      const events = await commitAndTell(
        r,
        store,
        tenant,
        shard,
        Array.from({ length: 40 }, (_, i) => `hot${i}`),
      );
      await waitFor(async () => (await pending(store, shard)) === 0, { what: 'every row marked' });
      expect(storedIds(twin)).toEqual(events.map((e) => e.id));
      expect(counts.polls).toBe(1);
      expect(counts.marks).toBeLessThan(40);
    });

    it('outbox relay - a caught-up shard is polled only every idlePollMs (a safety net), a shard behind every pollMs', async () => {
      const store = new MemoryStore();
      const [tenant, caughtUp, behind] = [uniqueTenant(), uniqueShard(), uniqueShard()];
      const [stuck] = await commitEvents(store, tenant, behind, 1, 1);
      const polls = new Map<number, number>();
      const wrapped = {
        unpublishedEvents: async (sh: number, n: number) => {
          polls.set(sh, (polls.get(sh) ?? 0) + 1);
          return store.unpublishedEvents(sh, n);
        },
        markPublished: async () => {}, // marks are lost: the `behind` shard's row stays unpublished, so it is never caught up
      };
      const twin = new MemoryEventPublisher({ prefix: PREFIX });
      const r = relay({ store: wrapped, publisher: twin, pollMs: 5, idlePollMs: 600_000 });
      r.openShard(caughtUp);
      r.openShard(behind);
      await waitFor(() => (polls.get(behind) ?? 0) >= 20, { what: 'twenty polls of the shard behind' });
      expect(polls.get(caughtUp)).toBe(1);
      expect(storedIds(twin)).toEqual([stuck!.id]); // re-published each poll, stored once
      // A commit the relay is told of without a position still goes out at once: it wakes the shard's poll.
      const [late] = await commitEvents(store, uniqueTenant(), caughtUp, 1, 1);
      r.committed(caughtUp, [late!], undefined);
      await waitFor(() => storedIds(twin).includes(late!.id), { what: 'the woken poll published the commit' });
      expect(polls.get(caughtUp)).toBe(2);
    });

    it('outbox relay - a shard opened with a backlog publishes the backlog first; commits meanwhile go to the poll, in order', async () => {
      const store = new MemoryStore();
      const [tenant, shard] = [uniqueTenant(), uniqueShard()];
      const backlog = await commitEvents(store, tenant, shard, 5, 2); // left by a previous owner
      const twin = new MemoryEventPublisher({ prefix: PREFIX, duplicateWindowMs: 0 });
      const r = relay({ store, publisher: twin, pollMs: 600_000, batch: 2 });
      r.openShard(shard);
      const later = await commitAndTell(r, store, tenant, shard, ['n0', 'n1', 'n2']);
      await waitFor(async () => (await pending(store, shard)) === 0, { what: 'the outbox drained' });
      expect(storedIds(twin)).toEqual([...backlog, ...later].map((e) => e.id));
      // Caught up now: the next commit is published without a poll.
      const last = await commitAndTell(r, store, tenant, shard, ['n3']);
      await waitFor(() => twin.messages().length === 18, { what: 'the caught-up publish' });
      expect(storedIds(twin).slice(16)).toEqual(last.map((e) => e.id));
    });

    it('outbox relay - a failed publish of committed events leaves the rows to the poll, which republishes them in order', async () => {
      const store = new MemoryStore();
      const [tenant, shard] = [uniqueTenant(), uniqueShard()];
      const twin = new MemoryEventPublisher({ prefix: PREFIX }); // de-duplicating, as the stream does
      const flaky = new FlakyPublisher(twin);
      const registry = new Registry();
      const { counts, wrapped } = counted(store);
      const r = relay({ store: wrapped, publisher: flaky, pollMs: 600_000, metrics: registerOutboxMetrics(registry) });
      r.openShard(shard);
      await waitFor(() => counts.polls === 1, { what: 'the first (empty) poll' });
      flaky.failCalls.add(3); // the first event of the second transition
      const events = await commitAndTell(r, store, tenant, shard, ['f0', 'f1', 'f2', 'f3']);
      await waitFor(async () => (await pending(store, shard)) === 0, { what: 'the outbox drained' });
      // Stored once each; the ones acknowledged after the failed publish reached the stream ahead of it (counted).
      expect(storedIds(twin).slice(0, 2)).toEqual(events.slice(0, 2).map((e) => e.id));
      expect([...storedIds(twin)].sort()).toEqual(events.map((e) => e.id).sort());
      expect(counts.polls).toBeGreaterThan(1);
      const text = await registry.metrics();
      expect(text).toContain('bflow_outbox_publish_failures_total 1');
      expect(text).toContain('bflow_outbox_overtaken_total 5');
    });

    it('outbox relay - a commit without a known position is left to the poll; one on a shard no longer held here is published, its watermark left to the owner', async () => {
      const store = new MemoryStore();
      const [tenant, shard] = [uniqueTenant(), uniqueShard()];
      const twin = new MemoryEventPublisher({ prefix: PREFIX });
      const { counts, wrapped } = counted(store);
      const r = relay({ store: wrapped, publisher: twin, pollMs: 600_000 });
      r.openShard(shard);
      await waitFor(() => counts.polls === 1, { what: 'the first (empty) poll' });
      const record = step({ tenant, id: 'np', shard, events: 1 });
      await store.commit(record);
      r.committed(shard, record.effects.events, undefined);
      await waitFor(() => twin.messages().length === 1, { what: 'the woken poll' });
      expect(counts.polls).toBeGreaterThanOrEqual(2);
      // A node that committed under a lease it lost meanwhile (frozen past it): the new owner may be caught up
      // already and never read that step from the log, so its events go out from here, unmarked.
      const elsewhere = uniqueShard();
      const late = step({ tenant, id: 'late', shard: elsewhere, events: 2 });
      const lateOutcome = await store.commit(late);
      const marks = counts.marks;
      r.committed(elsewhere, late.effects.events, lateOutcome.ok ? lateOutcome.outboxPosition : undefined);
      await waitFor(() => twin.messages().length === 3, { what: 'the unheld shard events published' });
      expect(counts.marks).toBe(marks);
      expect(await store.unpublishedEvents(elsewhere, 10)).toHaveLength(2); // the owner's poll still sees them
    });

    it('outbox relay - after an uncertain commit (written, but its outcome lost) a later commit is not published past it: the poll publishes both, in order', async () => {
      const store = new MemoryStore();
      const [tenant, shard] = [uniqueTenant(), uniqueShard()];
      const twin = new MemoryEventPublisher({ prefix: PREFIX, duplicateWindowMs: 0 });
      const { counts, wrapped } = counted(store);
      const r = relay({ store: wrapped, publisher: twin, pollMs: 600_000 });
      r.openShard(shard);
      await waitFor(() => counts.polls === 1, { what: 'the first (empty) poll: the shard is caught up' });
      // The store wrote it, but the host saw store_unavailable (a COMMIT whose reply was lost): no committed().
      const lost = step({ tenant, id: 'lost', shard, events: 2 });
      await commitOk(store, lost);
      r.fallBehind(shard);
      const later = await commitAndTell(r, store, tenant, shard, ['after']);
      await waitFor(async () => (await pending(store, shard)) === 0, { what: 'the outbox drained' });
      expect(storedIds(twin)).toEqual([...lost.effects.events, ...later].map((e) => e.id));
      expect(counts.polls).toBeGreaterThan(1);
    });
  });
});
