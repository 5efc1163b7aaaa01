import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';

/** @hono/node-server's bindings in `c.env`: the Node request and response (absent under `app.request`). */
type NodeBindings = { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;

/** The Node request under `c` when served by @hono/node-server. */
export function nodeRequest(c: Context): IncomingMessage | undefined {
  return (c.env as NodeBindings)?.incoming;
}

/** The Node response under `c` when served by @hono/node-server. */
export function nodeResponse(c: Context): ServerResponse | undefined {
  return (c.env as NodeBindings)?.outgoing;
}
