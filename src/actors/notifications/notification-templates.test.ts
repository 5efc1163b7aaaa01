import { describe, expect, it } from 'vitest';
import { DEFAULT_NOTIFICATION_SETTINGS } from '../../store/notification-ports.ts';
import {
  renderNotification,
  settingsTemplateProblems,
  templateProblem,
  type TemplateView,
} from './notification-templates.ts';

const view: TemplateView = {
  kind: 'task_assigned',
  recipient: { id: 'bob', name: 'Bob <b>' },
  actor: { id: 'alice', name: 'Alice' },
  runtime: { id: 'rt-1', app: 'po', docId: 'PO-1', status: 'in_progress', node: 'approve' },
  link: 'https://x.example/api/v1/runtimes/rt-1',
  fields: [{ name: 'amount', value: '5000' }],
};

describe('notification templates', () => {
  it('templates - a parse error names line and column', () => {
    expect(templateProblem('Hello {{name}}')).toBeUndefined();
    expect(templateProblem('Hi\n  {{name')).toMatchObject({ line: 2, column: 3 });
    expect(templateProblem('a\nb {{#x}}c')).toMatchObject({
      line: 2,
      column: 3,
      message: expect.stringContaining('Unclosed section "x"'),
    });
    expect(templateProblem('{{/x}}')).toMatchObject({ line: 1, column: 1 });
    expect(templateProblem('x'.repeat(20_001))?.message).toContain('longer than');
  });

  it('templates - every bad part of a settings document is reported with its path', () => {
    const problems = settingsTemplateProblems({
      templates: { task_assigned: { subject: '{{a', html: 'ok' }, comment_added: { sms: '{{#b}}' } },
    });
    expect(problems.map((p) => p.path)).toEqual(['templates.task_assigned.subject', 'templates.comment_added.sms']);
  });

  it('templates - defaults render text, html (escaped once), sms and push; values are data, never code', () => {
    const r = renderNotification(view, DEFAULT_NOTIFICATION_SETTINGS);
    expect(r.subject).toBe('po PO-1 waits for your approval');
    expect(r.text).toContain('Hello Bob <b>,');
    expect(r.text).toContain('amount: 5000');
    expect(r.text).toContain('Open it: https://x.example/api/v1/runtimes/rt-1');
    expect(r.html).toContain('Hello Bob &lt;b&gt;,');
    expect(r.html).toContain('<a href="https://x.example/api/v1/runtimes/rt-1">');
    expect(r.sms).toBe('po PO-1 waits for your approval: https://x.example/api/v1/runtimes/rt-1');
    expect(r.push).toBe('po PO-1 waits for your approval');
    const sneaky = renderNotification(
      { ...view, recipient: { id: 'b', name: '{{link}}' } },
      DEFAULT_NOTIFICATION_SETTINGS,
    );
    expect(sneaky.text).toContain('Hello {{link}},');
  });

  it("templates - a tenant's part replaces the default of that part only", () => {
    const r = renderNotification(view, {
      ...DEFAULT_NOTIFICATION_SETTINGS,
      templates: { task_assigned: { subject: '[{{runtime.app}}] {{runtime.docId}}' } },
    });
    expect(r.subject).toBe('[po] PO-1');
    expect(r.text).toContain('[po] PO-1');
  });
});
