/** One Server-Sent Event as received. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** A live SSE connection read in the background; `events` fills as they arrive. */
export interface SseConnection {
  status: number;
  events: SseEvent[];
  close(): void;
}

/** Opens `url` as an event stream (fetch; the Last-Event-ID header when given) and parses what comes. */
export async function openSse(url: string, token: string, lastEventId?: string): Promise<SseConnection> {
  const abort = new AbortController();
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
  if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: SseEvent[] = [];
  const conn: SseConnection = { status: res.status, events, close: () => abort.abort() };
  if (res.body === null || res.status !== 200) return conn;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseBlock(block);
          if (event) events.push(event);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // closed
    }
  })();
  return conn;
}

function parseBlock(block: string): SseEvent | undefined {
  const event: SseEvent = { data: '' };
  let hasData = false;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') event.id = value;
    else if (field === 'event') event.event = value;
    else if (field === 'data') {
      event.data = hasData ? `${event.data}\n${value}` : value;
      hasData = true;
    }
  }
  return hasData ? event : undefined;
}
