import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeToken,
  encodeToken,
  eventFilter,
  eventRoot,
  eventSubject,
  parseEventSubject,
  parseWebhookQueueSubject,
  subjectMatches,
  webhookQueueSubject,
} from './event-subject.ts';

describe('event subject', () => {
  it('event subject - plain tokens are kept as they are', () => {
    expect(eventSubject('bflow', { tenant: 'acme', app: 'leave_request', type: 'runtime-started' })).toBe(
      'bflow.events.acme.leave_request.runtime-started',
    );
    expect(encodeToken('A-z_0~9:@!$&()+,;=?[]{}|^`\'"#/\\')).toBe('A-z_0~9:@!$&()+,;=?[]{}|^`\'"#/\\');
  });

  it('event subject - dots in app codes and event types stay inside one token', () => {
    const subject = eventSubject('bflow', { tenant: 'acme', app: 'purchase.order', type: 'task.assigned' });
    expect(subject).toBe('bflow.events.acme.purchase%2Eorder.task%2Eassigned');
    expect(subject.split('.')).toHaveLength(5);
    expect(parseEventSubject('bflow', subject)).toEqual({
      tenant: 'acme',
      app: 'purchase.order',
      type: 'task.assigned',
    });
  });

  it('event subject - the webhook queue subject has the same tokens under its own root, outside the event stream', () => {
    const fields = { tenant: 'acme', app: 'purchase.order', type: 'task.assigned' };
    const subject = webhookQueueSubject('bflow', fields);
    expect(subject).toBe('bflow.webhook-queue.acme.purchase%2Eorder.task%2Eassigned');
    expect(parseWebhookQueueSubject('bflow', subject)).toEqual(fields);
    expect(parseWebhookQueueSubject('bflow', eventSubject('bflow', fields))).toBeUndefined();
    expect(parseEventSubject('bflow', subject)).toBeUndefined();
    expect(subjectMatches(`${eventRoot('bflow')}.>`, subject)).toBe(false);
    expect(() => webhookQueueSubject('bad prefix', fields)).toThrow(RangeError);
  });

  it('event subject - wildcards, percent signs and whitespace are escaped', () => {
    expect(encodeToken('*')).toBe('%2A');
    expect(encodeToken('>')).toBe('%3E');
    expect(encodeToken('50%')).toBe('50%25');
    expect(encodeToken('a b\tc\nd')).toBe('a%20b%09c%0Ad');
    expect(encodeToken('\x7f\x00')).toBe('%7F%00');
    expect(encodeToken('%2E')).toBe('%252E');
    expect(decodeToken('%252E')).toBe('%2E');
  });

  it('event subject - unicode is written as UTF-8 bytes and comes back', () => {
    expect(encodeToken('café')).toBe('caf%C3%A9');
    expect(encodeToken('採購.單')).toBe('%E6%8E%A1%E8%B3%BC%2E%E5%96%AE');
    expect(decodeToken('%F0%9F%9A%80')).toBe('🚀');
    expect(encodeToken('\u00a0\u2028')).toBe('%C2%A0%E2%80%A8');
  });

  it('event subject - any non-empty well-formed string round-trips to a single valid token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (value) => {
        const token = encodeToken(value);
        expect(token).toMatch(/^[\x21-\x7e]+$/);
        expect(token).not.toMatch(/[.*>]/);
        expect(decodeToken(token)).toBe(value);
      }),
    );
  });

  it('event subject - distinct values never share a token', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1 }),
        fc.string({ unit: 'grapheme', minLength: 1 }),
        (a, b) => {
          fc.pre(a !== b);
          expect(encodeToken(a)).not.toBe(encodeToken(b));
        },
      ),
    );
  });

  it('event subject - empty values and malformed tokens are refused', () => {
    expect(() => encodeToken('')).toThrow(RangeError);
    for (const bad of ['', 'a.b', 'a b', '*', '>', '%', '%2', '%zz', '%e9', '%C3', 'café']) {
      expect(() => decodeToken(bad), bad).toThrow(RangeError);
    }
    expect(() => eventRoot('bad prefix')).toThrow(RangeError);
    expect(() => eventRoot('a..b')).toThrow(RangeError);
    expect(eventRoot('eu.bflow')).toBe('eu.bflow.events');
  });

  it('event subject - filters select by tenant, app and type', () => {
    const po = eventSubject('bflow', { tenant: 'acme', app: 'purchase.order', type: 'task.assigned' });
    const leave = eventSubject('bflow', { tenant: 'acme', app: 'leave', type: 'task.assigned' });
    const poFilter = eventFilter('bflow', { tenant: 'acme', app: 'purchase.order' });
    expect(poFilter).toBe('bflow.events.acme.purchase%2Eorder.*');
    expect(subjectMatches(poFilter, po)).toBe(true);
    expect(subjectMatches(poFilter, leave)).toBe(false);
    expect(subjectMatches(eventFilter('bflow', { type: 'task.assigned' }), leave)).toBe(true);
    expect(subjectMatches('bflow.events.>', po)).toBe(true);
    expect(subjectMatches('bflow.events.acme.>', 'bflow.events.acme')).toBe(false);
    expect(subjectMatches('bflow.events.*', po)).toBe(false);
  });

  it('event subject - subjects of another prefix or shape do not parse', () => {
    expect(parseEventSubject('bflow', 'other.events.a.b.c')).toBeUndefined();
    expect(parseEventSubject('bflow', 'bflow.events.a.b')).toBeUndefined();
    expect(parseEventSubject('bflow', 'bflow.events.a.b.%zz')).toBeUndefined();
  });
});
