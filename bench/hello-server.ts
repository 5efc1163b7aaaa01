/**
 * bench/hello-server — the HTTP ceiling: a Hono hello-world POST on
 * @hono/node-server (what the gateway runs on), one process. It parses the
 * JSON body and answers a small JSON object; nothing else.
 */
import { Hono } from 'hono';
import { serveAndAnnounce } from './server-process.ts';

const app = new Hono();
app.post('/hello', async (c) => {
  const body = await c.req.json<{ action?: string }>();
  return c.json({ hello: 'world', action: body.action ?? null });
});
serveAndAnnounce(app);
