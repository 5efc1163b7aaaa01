import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeToken } from '../actors/events/index.ts';
import type { DomainEvent } from '../engine/index.ts';
import { CheckError } from './errors.ts';

/** One message of the event stream: its stream sequence, its Nats-Msg-Id and the event id in its payload. */
export interface StreamedEvent {
  streamSeq: number;
  msgId: string | undefined;
  eventId: string;
}

export interface StreamReadOptions {
  stream: string;
  tenant: string;
  /** Bound on the whole read, stream info included. */
  timeoutMs: number;
}

/**
 * Hands every message of `tenant` in the event stream to `onMessage` (returns how many) — read with an ordered
 * (ephemeral, flow-controlled) consumer filtered on the tenant's subjects
 * (`<prefix>.events.<tenant>.>`, derived from the stream's `….events.>`
 * subject); messages whose payload names another tenant are skipped.
 */
export async function readTenantEvents(
  nc: NatsConnection,
  o: StreamReadOptions,
  onMessage: (m: StreamedEvent) => void,
): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  let stop: (() => void) | undefined;
  let timedOut = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      stop?.();
      reject(new CheckError('stream_timeout', `reading stream ${o.stream} took longer than ${o.timeoutMs} ms`));
    }, o.timeoutMs);
  });
  deadline.catch(() => undefined);
  try {
    return await Promise.race([
      read(
        nc,
        o,
        onMessage,
        (s) => (stop = s),
        () => timedOut,
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function read(
  nc: NatsConnection,
  o: StreamReadOptions,
  onMessage: (m: StreamedEvent) => void,
  onStop: (stop: () => void) => void,
  timedOut: () => boolean,
): Promise<number> {
  const jsm = await jetstreamManager(nc, { timeout: o.timeoutMs });
  const filters = tenantFilters(await streamInfo(jsm, o.stream), o.tenant);
  const total = await matching(jsm, o.stream, filters);
  let read = 0;
  if (total === 0) return read;
  // One filter as a string: `filter_subject`, which servers before 2.10 understand too; several: read everything.
  const consumer = await jetstream(nc, { timeout: o.timeoutMs }).consumers.get(
    o.stream,
    filters.length === 1 ? { filter_subjects: filters[0]! } : {},
  );
  const messages = await consumer.consume({ max_messages: 1000 });
  onStop(() => void messages.close());
  try {
    for await (const m of messages) {
      const event = m.json<Partial<DomainEvent>>();
      if (event.tenant === o.tenant && typeof event.id === 'string') {
        onMessage({ streamSeq: m.seq, msgId: m.headers?.get('Nats-Msg-Id') || undefined, eventId: event.id });
        read += 1;
      }
      if (m.info.pending === 0 || timedOut()) break;
    }
  } finally {
    await messages.close();
  }
  return read;
}

async function streamInfo(jsm: Awaited<ReturnType<typeof jetstreamManager>>, stream: string): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(stream);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
      throw new CheckError('stream_not_found', `stream ${stream} does not exist`, { cause: err });
    }
    throw err;
  }
}

/** The tenant's subjects under each `….events.>` subject of the stream; none (read everything) when there is no such subject. */
export function tenantFilters(info: StreamInfo, tenant: string): string[] {
  return (info.config.subjects ?? [])
    .filter((s) => s.endsWith('.events.>'))
    .map((s) => `${s.slice(0, -1)}${encodeToken(tenant)}.>`);
}

/** How many messages the filters match (the whole stream without filters). */
async function matching(
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  stream: string,
  filters: string[],
): Promise<number> {
  if (filters.length === 0) return (await jsm.streams.info(stream)).state.messages;
  let total = 0;
  for (const subjects_filter of filters) {
    const info = await jsm.streams.info(stream, { subjects_filter });
    for (const n of Object.values(info.state.subjects ?? {})) total += n;
  }
  return total;
}
