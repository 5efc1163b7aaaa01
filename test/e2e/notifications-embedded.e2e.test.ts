import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { DEMO_TENANT, seedDemo } from '../../src/app/demo/demo-seed.ts';
import { signToken } from '../../src/app/dev-token.ts';
import { startEmbedded, type EmbeddedBackend } from '../../src/app/embedded.ts';
import { createApp } from '../../src/gateway/app.ts';
import { SmtpSink } from '../actors/notifications/smtp-sink.ts';
import { openSse } from '../actors/notifications/sse-client.ts';
import { waitFor } from '../harness/wait.ts';
import { poDoc } from '../fixtures/purchase-order-doc.ts';

/**
 * `bflow all` embedded with its notifier, over real HTTP and a real SMTP
 * server in process: what the approvers receive by email and on the SSE
 * stream, and what bad input gets.
 */
const SECRET = 'notifications-e2e-secret-0123456789abcdef';
const LINK_BASE = 'https://bflow.example.com/api/v1';
let backend: EmbeddedBackend;
let server: ServerType;
let base: string;
let smtp: SmtpSink;

beforeAll(async () => {
  smtp = await SmtpSink.start();
  backend = await startEmbedded(
    loadConfig({ BFLOW_SHARDS: '4', BFLOW_SMTP_URL: smtp.url, BFLOW_NOTIFY_LINK_BASE: LINK_BASE }),
    pino({ level: 'silent' }),
  );
  await seedDemo(backend.deps);
  server = serve({
    fetch: createApp(backend.deps, { auth: { secret: SECRET } }).fetch,
    port: 0,
    hostname: '127.0.0.1',
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  (server as import('node:http').Server).closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await backend.stop();
  await smtp.close();
});

const token = (sub: string, roles: string[] = ['member']) => signToken(SECRET, { sub, tid: DEMO_TENANT, roles }, 3600);

async function call(sub: string, method: string, path: string, body?: unknown, roles?: string[]) {
  const init: RequestInit = {
    method,
    headers: { Authorization: `Bearer ${await token(sub, roles)}`, 'Content-Type': 'application/json' },
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? undefined : JSON.parse(text),
    type: res.headers.get('content-type'),
  };
}

async function startPo(docId: string): Promise<string> {
  const started = await call('alice', 'POST', '/api/v1/runtimes', {
    app: 'purchase.order',
    docId,
    doc: poDoc(5_000_000),
  });
  expect(started.status).toBe(201);
  return started.body.id as string;
}

const submit = (runtimeId: string) =>
  call('alice', 'POST', `/api/v1/runtimes/${runtimeId}/actions`, { action: 'submit' });

async function metric(name: string, labels: string): Promise<number> {
  const text = await backend.deps.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((x) => l.includes(x)));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('embedded - notifications end to end', () => {
  it('email - the assignee gets one message: recipient, subject, a link to the runtime, no field of a zone hidden from them', async () => {
    const doc = {
      owner: 'bob',
      counterparty: 'Globex',
      contract_type: 'MSA',
      value: 120_000,
      term_months: 12,
      auto_renew: false,
      clauses: [],
      redlines: 'REDLINE-SECRET-7',
      legal_opinion: 'OPINION-SECRET-9',
    };
    const started = await call('alice', 'POST', '/api/v1/runtimes', { app: 'legal.contract', docId: 'C-N-1', doc });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    expect((await submit(id)).status).toBe(200);
    await waitFor(() => smtp.received.some((m) => m.to.includes('bob@example.com')), { what: 'the email to bob' });
    await backend.notifications!.idle();
    const mails = smtp.received.filter((m) => m.to.includes('bob@example.com'));
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.subject).toBe('legal.contract C-N-1 waits for your approval');
    expect(mail.dedupeKey).toMatch(new RegExp(`^${id}:\\d+:\\d+\\|bob\\|email$`));
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain(`${LINK_BASE}/runtimes/${id}`);
      expect(part).toContain('Globex'); // a visible field is there
      expect(part).not.toContain('SECRET'); // the legal zone is hidden at owner_review
      expect(part).not.toContain('legal_opinion');
    }
    // The creator submitted it herself: no email to alice for her own step.
    expect(smtp.received.filter((m) => m.to.includes('alice@example.com'))).toEqual([]);
  });

  it('in-app - an SSE stream gets "task assigned" within a second of the submit; a reconnect with Last-Event-ID misses nothing', async () => {
    const stream = await openSse(`${base}/api/v1/notifications/stream`, await token('pur-mgr'));
    expect(stream.status).toBe(200);
    const first = await startPo('PO-N-1');
    const submitted = Date.now();
    expect((await submit(first)).status).toBe(200);
    await waitFor(() => stream.events.some((e) => JSON.parse(e.data).runtimeId === first), {
      what: 'task assigned on the stream',
    });
    expect(Date.now() - submitted).toBeLessThan(1_000);
    const seen = stream.events.find((e) => JSON.parse(e.data).runtimeId === first)!;
    expect(seen.event).toBe('notification');
    expect(JSON.parse(seen.data)).toMatchObject({ kind: 'task_assigned', docId: 'PO-N-1', readAt: null });
    stream.close();

    // Two more while disconnected; the reconnect resumes after the last id seen.
    const missed = [await startPo('PO-N-2'), await startPo('PO-N-3')];
    for (const id of missed) expect((await submit(id)).status).toBe(200);
    await backend.notifications!.idle();
    const resumed = await openSse(`${base}/api/v1/notifications/stream`, await token('pur-mgr'), seen.id);
    await waitFor(() => resumed.events.length >= 2, { what: 'the missed notifications' });
    expect(resumed.events.map((e) => JSON.parse(e.data).docId)).toEqual(['PO-N-2', 'PO-N-3']);
    expect(resumed.events.every((e) => Number(e.id) > Number(seen.id))).toBe(true);
    resumed.close();
  });

  it('in-app - the list pages newest first with the unread count; read and read-all change it', async () => {
    await backend.notifications!.idle();
    const list = await call('pur-mgr', 'GET', '/api/v1/notifications?limit=2');
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    expect(list.body.unread).toBeGreaterThanOrEqual(3);
    expect(list.body.nextCursor).not.toBeNull();
    const unread = list.body.unread as number;
    expect((await call('pur-mgr', 'POST', `/api/v1/notifications/${list.body.items[0].id}/read`)).status).toBe(204);
    expect((await call('pur-mgr', 'GET', '/api/v1/notifications')).body.unread).toBe(unread - 1);
    // Someone else's notification is not found.
    expect((await call('bob', 'POST', `/api/v1/notifications/${list.body.items[1].id}/read`)).status).toBe(404);
    expect((await call('pur-mgr', 'POST', '/api/v1/notifications/read-all')).body).toEqual({ unread: 0 });
    expect((await call('pur-mgr', 'GET', '/api/v1/notifications')).body.unread).toBe(0);
  });

  it('preferences - channels per kind are kept; in-app only means no email', async () => {
    const saved = await call('pur-mgr', 'PUT', '/api/v1/notifications/preferences', {
      channels: { task_assigned: ['in_app'] },
    });
    expect(saved.status).toBe(200);
    expect((await call('pur-mgr', 'GET', '/api/v1/notifications/preferences')).body).toEqual({
      channels: { task_assigned: ['in_app'] },
      pushTokens: [],
    });
    const before = smtp.received.length;
    const id = await startPo('PO-N-PREF');
    expect((await submit(id)).status).toBe(200);
    await backend.notifications!.idle();
    await waitFor(
      async () => (await call('pur-mgr', 'GET', '/api/v1/notifications')).body.items[0]?.docId === 'PO-N-PREF',
      { what: 'the in-app notification' },
    );
    expect(smtp.received.slice(before).filter((m) => m.to.includes('pur-mgr@example.com'))).toEqual([]);
    await call('pur-mgr', 'PUT', '/api/v1/notifications/preferences', { channels: {} });
  });

  it('bad input - bad preferences are a 422 problem and change nothing', async () => {
    for (const body of [
      { channels: { task_assigned: ['pigeon'] } },
      { channels: { no_such_kind: ['email'] } },
      { channels: { task_assigned: ['email', 'email'] } },
      { channels: {}, extra: true },
    ]) {
      const res = await call('bob', 'PUT', '/api/v1/notifications/preferences', body);
      expect(res.status).toBe(422);
      expect(res.type).toContain('application/problem+json');
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    expect((await call('bob', 'GET', '/api/v1/notifications/preferences')).body).toEqual({
      channels: {},
      pushTokens: [],
    });
  });

  it('bad input - a template that does not parse is refused when saved, naming the position; a good one is used', async () => {
    const bad = await call(
      'alice',
      'PUT',
      '/api/v1/notifications/settings',
      { templates: { task_assigned: { subject: 'ok', text: 'Hello\n{{#fields}}{{name}}\n{{/field}}' } } },
      ['admin'],
    );
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('template_invalid');
    expect(bad.body.errors).toEqual([
      {
        path: 'templates.task_assigned.text',
        message: expect.stringMatching(/Unclosed section "fields" at line 2, column 1/),
      },
    ]);
    const unchanged = await call('alice', 'GET', '/api/v1/notifications/settings', undefined, ['admin']);
    expect(unchanged.body.templates).toEqual({});
    expect((await call('bob', 'PUT', '/api/v1/notifications/settings', { templates: {} })).status).toBe(403);

    const good = await call(
      'alice',
      'PUT',
      '/api/v1/notifications/settings',
      { templates: { task_assigned: { subject: 'Approve {{runtime.docId}}, {{recipient.name}} <3' } } },
      ['admin'],
    );
    expect(good.status).toBe(200);
    const id = await startPo('PO-N-TPL');
    expect((await submit(id)).status).toBe(200);
    await waitFor(() => smtp.received.some((m) => m.subject === 'Approve PO-N-TPL, PUR-MGR <3'), {
      what: 'the email with the tenant template',
    });
    const mail = smtp.received.find((m) => m.subject === 'Approve PO-N-TPL, PUR-MGR <3')!;
    expect(mail.html).toContain('Approve PO-N-TPL, PUR-MGR &lt;3'); // escaped once in the html part
    await call('alice', 'PUT', '/api/v1/notifications/settings', {}, ['admin']);
  });

  it('bad input - a recipient without an email is skipped and counted, never retried; in-app still arrives', async () => {
    const skippedBefore = await metric('bflow_notifications_total', 'channel="email",result="skipped"');
    const dir = await backend.deps.directory.loadDirectory(DEMO_TENANT);
    const mgr = dir.employees.find((e) => e.id === 'pur-mgr')!;
    const { email: _gone, ...noEmail } = mgr;
    await backend.deps.directory.upsertEmployees(DEMO_TENANT, [noEmail]);
    try {
      const before = smtp.received.length;
      const id = await startPo('PO-N-NOMAIL');
      expect((await submit(id)).status).toBe(200);
      await backend.notifications!.idle();
      await waitFor(
        async () => (await call('pur-mgr', 'GET', '/api/v1/notifications')).body.items[0]?.docId === 'PO-N-NOMAIL',
        { what: 'the in-app notification' },
      );
      expect(await metric('bflow_notifications_total', 'channel="email",result="skipped"')).toBe(skippedBefore + 1);
      expect(smtp.received.length).toBe(before);
      const dead = await call('alice', 'GET', '/api/v1/notifications/dead-letters', undefined, ['admin']);
      expect(dead.body.items).toEqual([]);
    } finally {
      await backend.deps.directory.upsertEmployees(DEMO_TENANT, [mgr]);
    }
  });
});
