import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp, type RunningServer } from '../../src/app/gateway-server.ts';
import { SECURITY_HEADERS, logProblems } from './security-checks.ts';
import { SECRET, demoAdmin, memoryLogger, securityGateway, type SecurityGateway } from './security-fixture.ts';

/**
 * Bytes no fetch() client would send, over TCP to the gateway as `bflow all`
 * serves it (@hono/node-server): malformed request lines and headers,
 * smuggling-shaped framing, absolute-form and non-ASCII targets, oversized
 * headers and URLs, pipelining, a client that stops mid-request. Each answer
 * is a 4xx (from Node's parser or from the app) or a success, never a 5xx;
 * the app's answers carry the security headers; the process keeps serving;
 * nothing but the expected appears in the logs.
 */

let gw: SecurityGateway;
let server: RunningServer;
let lines: string[];
let token = '';

beforeAll(async () => {
  const memory = memoryLogger('debug');
  lines = memory.lines;
  gw = await securityGateway({}, memory.logger);
  server = await serveHttp(gw.app.fetch, 0, memory.logger);
  token = await gw.token(demoAdmin);
});
afterAll(async () => {
  await server?.close(1_000);
  await gw?.stop();
});

interface RawReply {
  /** Every status line's code, in order (pipelined requests answer several). */
  statuses: number[];
  text: string;
}

/** Writes `bytes` (then half-closes unless `keepOpen`), reads until the server closes or `deadlineMs` passes. */
function raw(bytes: string | Buffer, deadlineMs = 3_000, keepOpen = false): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ statuses: [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1])), text });
    };
    const timer = setTimeout(done, deadlineMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? done() : reject(err),
    );
    socket.on('connect', () => {
      socket.write(bytes);
      if (!keepOpen) socket.end();
    });
  });
}

const request = (head: string, body = '') => `${head}\r\n\r\n${body}`;

describe('raw http', () => {
  const CASES: [string, string | Buffer][] = [
    ['HTTP/0.9 style line', 'GET /health\r\n\r\n'],
    ['garbage line', 'GARBAGE\r\n\r\n'],
    ['no version', request('GET /health HTTP/9.9\r\nHost: x')],
    ['header without a colon', request('GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere')],
    ['space before a colon', request('GET /health HTTP/1.1\r\nHost : x')],
    ['negative Content-Length', request('POST /api/v1/runtimes HTTP/1.1\r\nHost: x\r\nContent-Length: -1')],
    [
      'two Content-Lengths',
      request('POST /api/v1/runtimes HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3', '{}x'),
    ],
    [
      'Content-Length and chunked (smuggling)',
      request(
        'POST /api/v1/runtimes HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked',
        '0\r\n\r\nGET /api/v1/cluster HTTP/1.1\r\nHost: x\r\n\r\n',
      ),
    ],
    [
      'bad chunk size',
      request(
        'POST /api/v1/runtimes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json',
        'zz\r\n{}\r\n0\r\n\r\n',
      ),
    ],
    [
      'obfuscated Transfer-Encoding',
      request('POST /api/v1/runtimes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 2', '{}'),
    ],
    ['absolute-form target', request('GET http://evil.example.com/api/v1/runtimes HTTP/1.1\r\nHost: x')],
    ['broken absolute-form target', request('GET http://[::1 HTTP/1.1\r\nHost: x')],
    ['asterisk-form', request('OPTIONS * HTTP/1.1\r\nHost: x')],
    ['CONNECT', request('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22')],
    ['bad percent-encoding', request('GET /api/v1/runtimes/%E0%A4%A HTTP/1.1\r\nHost: x')],
    ['encoded traversal', request('GET /api/v1/runtimes/..%2f..%2fhealth HTTP/1.1\r\nHost: x')],
    ['dot segments', request('GET /api/v1/../../health/./../metrics HTTP/1.1\r\nHost: x')],
    ['double slashes', request('GET //api//v1//cluster HTTP/1.1\r\nHost: x')],
    [
      'raw non-ASCII path',
      Buffer.concat([
        Buffer.from('GET /api/v1/runtimes/'),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
        Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]),
    ],
    ['NUL in the path', request('GET /api/v1/runtimes/a\u0000b HTTP/1.1\r\nHost: x')],
    ['CR in a header value', request('GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\rb')],
    ['LF-only line ends', 'GET /health HTTP/1.1\nHost: x\n\n'],
    ['100 KB URL', request(`GET /api/v1/runtimes?app=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x`)],
    ['32 KB header', request(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(32_000)}`)],
    [
      '500 headers',
      request(`GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 500 }, (_, i) => `X-H${i}: v`).join('\r\n')}`),
    ],
    [
      'Host header injection',
      request(
        'GET /api/v1/runtimes HTTP/1.1\r\nHost: evil.example.com\r\nX-Forwarded-Host: evil.example.com\r\nX-Forwarded-Proto: gopher',
      ),
    ],
    [
      'method override headers',
      request('GET /api/v1/cluster HTTP/1.1\r\nHost: x\r\nX-HTTP-Method-Override: DELETE\r\nX-Original-URL: /health'),
    ],
    ['lowercase method', request('get /health HTTP/1.1\r\nHost: x')],
    ['body on GET', request('GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5', 'hello')],
    [
      'truncated body',
      request(
        'POST /api/v1/runtimes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100',
        '{"app":',
      ),
    ],
  ];

  it.each(CASES)('raw http - %s: answered with a 4xx or a success, never a 5xx', async (_name, bytes) => {
    const reply = await raw(bytes);
    for (const status of reply.statuses) expect(status, reply.text.slice(0, 300)).toBeLessThan(500);
  });

  it('raw http - the same cases with a valid token: never a 5xx; every answer the app gave carries the security headers', async () => {
    for (const [name, bytes] of CASES) {
      const text =
        typeof bytes === 'string' ? bytes.replace('Host: x', `Host: x\r\nAuthorization: Bearer ${token}`) : bytes;
      const reply = await raw(text);
      for (const status of reply.statuses) expect(status, `${name}: ${reply.text.slice(0, 300)}`).toBeLessThan(500);
      // Answers from the app (not Node's parser, which closes with a bare 400/431) carry the request id and the headers.
      if (/x-request-id:/i.test(reply.text)) {
        for (const header of Object.keys(SECURITY_HEADERS))
          expect(reply.text.toLowerCase(), `${name}: ${header}`).toContain(`${header}:`);
      }
    }
  });

  it.each([
    '//api/v1/cluster',
    '/api//v1/cluster',
    '/api/v1/./cluster',
    '/api/v1//cluster',
    '/api/v1/cluster/',
    '/api/v1/cluster;x',
    '/api/v1/cluster%20',
    '/api/v1/cluster%00',
    '/api/v1/%63luster',
    '/api/v1/%2e/cluster',
    '/api/%761/cluster',
    '/api%2fv1%2fcluster',
    '/API/V1/CLUSTER',
    '/health/../api/v1/cluster',
    '/health/%2e%2e/api/v1/cluster',
    '/api/v1\\cluster',
    'http://x/api/v1/cluster',
    '/api/v1/runtimes?x=/../../health',
    '/api/v1/tasks#fragment',
  ])(
    'raw http - %s without a token never reaches the API (401, 404 or 400, 429 once the address has failed too often; never 200)',
    async (target) => {
      const reply = await raw(request(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close`));
      expect(reply.statuses).toHaveLength(1);
      expect([400, 401, 404, 429], reply.text.slice(0, 300)).toContain(reply.statuses[0]);
      expect(reply.text).not.toContain('shardCount');
    },
  );

  it('raw http - 50 pipelined requests on one connection are answered in order', async () => {
    const one = request(`GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}`);
    const reply = await raw(
      one.repeat(49) + request('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close'),
      10_000,
      true,
    );
    expect(reply.statuses).toEqual([...Array.from({ length: 49 }, () => 200), 200]);
  });

  it('raw http - a client that sends half a request and goes silent does not stop others being served', async () => {
    const stalled = raw(
      'POST /api/v1/runtimes HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Type: application/json\r\n\r\n{"app"',
      500,
      true,
    );
    const health = await raw(request('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close'));
    expect(health.statuses).toEqual([200]);
    await stalled;
  });

  it('raw http - afterwards the server still serves; no 5xx was counted; the logs hold no token, secret or stack (a client hanging up mid-body was an error line with a stack and a 500)', async () => {
    expect((await raw(request('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close'))).statuses).toEqual([200]);
    expect(logProblems(lines, { tokens: [token], secrets: [SECRET] })).toEqual([]);
    expect(lines.filter((l) => l.includes('"level":50'))).toEqual([]);
    expect(lines.some((l) => l.includes('client closed the connection before the request body was read'))).toBe(true);
    const metrics = await (await gw.app.request('/metrics')).text();
    expect(metrics).not.toMatch(/bflow_http_request_duration_seconds_count\{[^}]*status="5\d\d"/);
  });
});
