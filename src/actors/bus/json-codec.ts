const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The shard bus's wire format: compact JSON (no envelope, no whitespace). A
 * typical command request is a few hundred bytes and a reply is dominated by
 * the runtime state it carries; NATS caps a message at max_payload (1 MiB by
 * default). The in-process twin copies through the same codec so that
 * anything that would not survive the wire (Dates, undefined, shared
 * references) behaves the same in embedded mode.
 */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

/** A deep copy as it would arrive over the wire. */
export function wireCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
