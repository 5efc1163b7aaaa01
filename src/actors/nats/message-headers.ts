import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/**
 * Headers that travel beside a message's payload: NATS message headers on the wire, a plain record in the code
 * and in the in-process twins (which hand them over as they are). The buses and streams do not read them; the
 * tracing layer carries the W3C trace context (`traceparent`, `tracestate`) in them
 * (docs/architecture.md#tracing).
 */
export type MessageHeaders = Readonly<Record<string, string>>;

/** NATS headers holding `given` (added to `into` when given); undefined for an empty record and no `into`. */
export function toNatsHeaders(given: MessageHeaders, into?: MsgHdrs): MsgHdrs | undefined {
  const keys = Object.keys(given);
  if (keys.length === 0) return into;
  const h = into ?? natsHeaders();
  for (const key of keys) h.set(key, given[key]!);
  return h;
}

/** A message's NATS headers as a plain record (the first value of each). */
export function fromNatsHeaders(h: MsgHdrs): MessageHeaders {
  const out: Record<string, string> = {};
  for (const key of h.keys()) out[key] = h.get(key);
  return out;
}
