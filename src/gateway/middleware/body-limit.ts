import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { nodeRequest } from '../node-bindings.ts';

/**
 * Refuses request bodies over `maxBytes` (calls `tooLarge`, which throws)
 * without turning a Node request into a WHATWG `Request`.
 *
 * Hono's own bodyLimit reads `c.req.raw.body`, which makes @hono/node-server
 * build a full `Request` with a web ReadableStream over the socket for every
 * POST (a tenth of the gateway's CPU under load), and the JSON body is then
 * read through that stream. Here a `Content-Length` is checked against the
 * limit and the body is left to the adapter's direct read; a chunked body is
 * read from the Node stream up to the limit and handed to the adapter as
 * `incoming.rawBody` (its documented pre-read body). Off Node (`app.request`
 * in tests) Hono's middleware does the job.
 */
export function bodyLimit(maxBytes: number, tooLarge: () => never): MiddlewareHandler {
  const fallback = honoBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    const incoming = nodeRequest(c);
    if (!incoming) return fallback(c, next);
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = incoming.headers['content-length'];
    if (length !== undefined && incoming.headers['transfer-encoding'] === undefined) {
      if (Number(length) > maxBytes) tooLarge();
      return next();
    }
    if (incoming.headers['transfer-encoding'] === undefined) return next(); // no body
    (incoming as IncomingMessage & { rawBody?: Buffer }).rawBody = await readUpTo(incoming, maxBytes, tooLarge);
    return next();
  };
}

/** The whole body of `incoming`, or `tooLarge()` as soon as it passes `maxBytes` (the rest is not read). */
function readUpTo(incoming: IncomingMessage, maxBytes: number, tooLarge: () => never): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        incoming.pause();
        try {
          tooLarge();
        } catch (err) {
          reject(err);
        }
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // The same error Node gives a reader whose client hung up mid-body (mapped to a 400 by the error handler).
    const onAborted = () => onError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}
