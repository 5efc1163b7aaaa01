import Mustache from 'mustache';
import {
  NOTIFICATION_KINDS,
  TEMPLATE_PARTS,
  type NotificationKind,
  type NotificationSettings,
  type TemplatePart,
} from '../../store/notification-ports.ts';

/**
 * Notification templates: Mustache (logic-less: no code runs, values are only
 * looked up in the view, which holds plain data). `{{x}}` is HTML-escaped in
 * the `html` part and written as is in the others; `{{{x}}}` is never needed.
 * A tenant's template replaces one part of one kind; the defaults below fill
 * the rest.
 */

/** Longest template part a tenant may save. */
export const MAX_TEMPLATE_LENGTH = 20_000;

/** What a template sees. Only fields the recipient may see are in `fields`. */
export interface TemplateView {
  kind: NotificationKind;
  recipient: { id: string; name: string };
  actor: { id: string; name: string };
  runtime: { id: string; app: string; docId: string; status: string; node: string };
  /** The link back to the runtime. */
  link: string;
  /** The document's fields the recipient may see, in document order, values as text. */
  fields: { name: string; value: string }[];
  comment?: string;
  dueAt?: string;
  outcome?: string;
}

const TITLES: Record<NotificationKind, string> = {
  task_assigned: '{{runtime.app}} {{runtime.docId}} waits for your approval',
  task_reassigned: '{{runtime.app}} {{runtime.docId}} was reassigned to you by {{actor.name}}',
  returned: '{{runtime.app}} {{runtime.docId}} was returned to you by {{actor.name}}',
  sla_reminder: 'Reminder: {{runtime.app}} {{runtime.docId}} still waits for you',
  sla_breached: 'Overdue: {{runtime.app}} {{runtime.docId}} is past its due time',
  runtime_approved: '{{runtime.app}} {{runtime.docId}} was {{outcome}}',
  runtime_rejected: '{{runtime.app}} {{runtime.docId}} was rejected',
  runtime_cancelled: '{{runtime.app}} {{runtime.docId}} was cancelled',
  comment_added: '{{actor.name}} commented on {{runtime.app}} {{runtime.docId}}',
};

const TEXT_BODY = `Hello {{recipient.name}},

{{> title}}
{{#comment}}

"{{comment}}"
{{/comment}}
{{#dueAt}}
Due: {{dueAt}}
{{/dueAt}}
{{#fields.length}}

{{#fields}}
{{name}}: {{value}}
{{/fields}}
{{/fields.length}}

Open it: {{link}}
`;

const HTML_BODY = `<!doctype html>
<html><body>
<p>Hello {{recipient.name}},</p>
<p>{{> title}}</p>
{{#comment}}<blockquote>{{comment}}</blockquote>{{/comment}}
{{#dueAt}}<p>Due: {{dueAt}}</p>{{/dueAt}}
{{#fields.length}}<table>{{#fields}}<tr><th align="left">{{name}}</th><td>{{value}}</td></tr>{{/fields}}</table>{{/fields.length}}
<p><a href="{{link}}">Open {{runtime.app}} {{runtime.docId}}</a></p>
</body></html>
`;

/** The default of one part of one kind. `{{> title}}` in the bodies is the kind's subject. */
export function defaultTemplate(kind: NotificationKind, part: TemplatePart): string {
  switch (part) {
    case 'subject':
      return TITLES[kind];
    case 'text':
      return TEXT_BODY;
    case 'html':
      return HTML_BODY;
    case 'sms':
      return `{{> title}}: {{link}}`;
    case 'push':
      return '{{> title}}';
  }
}

/** A template that does not parse, with where. */
export interface TemplateProblem {
  /** e.g. `templates.task_assigned.subject` */
  path: string;
  message: string;
  line: number;
  column: number;
}

/** Why `template` cannot be used, with the offending position (line and column from 1), or undefined when it parses. */
export function templateProblem(template: string): Omit<TemplateProblem, 'path'> | undefined {
  if (template.length > MAX_TEMPLATE_LENGTH)
    return { message: `longer than ${MAX_TEMPLATE_LENGTH} characters`, line: 1, column: MAX_TEMPLATE_LENGTH + 1 };
  try {
    Mustache.parse(template);
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const offset = errorOffset(template, message);
    const before = template.slice(0, offset).split('\n');
    const line = before.length;
    const column = (before[before.length - 1]?.length ?? 0) + 1;
    return { message: `${message.replace(/ at \d+$/, '')} at line ${line}, column ${column}`, line, column };
  }
}

/**
 * Where the error is: Mustache reports an unclosed tag or section at the template's end; the tag or section that
 * was left open is the useful position.
 */
function errorOffset(template: string, message: string): number {
  const reported = Number(/\bat (\d+)$/.exec(message)?.[1] ?? 0);
  if (message.startsWith('Unclosed tag')) return Math.max(0, template.lastIndexOf('{{'));
  const section = /^Unclosed section "(.*)"/.exec(message)?.[1];
  if (section !== undefined) {
    const escaped = section.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const opens = [...template.matchAll(new RegExp(`\\{\\{\\s*[#^]\\s*${escaped}\\s*\\}\\}`, 'g'))];
    return opens.at(-1)?.index ?? reported;
  }
  return reported;
}

/** Every template problem of a settings document (an empty list: all parse). */
export function settingsTemplateProblems(settings: Pick<NotificationSettings, 'templates'>): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const kind of NOTIFICATION_KINDS)
    for (const part of TEMPLATE_PARTS) {
      const template = settings.templates[kind]?.[part];
      if (template === undefined) continue;
      const problem = templateProblem(template);
      if (problem) problems.push({ path: `templates.${kind}.${part}`, ...problem });
    }
  return problems;
}

/** The rendered parts of one notification. */
export interface RenderedNotification {
  subject: string;
  text: string;
  html: string;
  sms: string;
  push: string;
}

const asIs = (value: unknown): string => String(value);
const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** What HTML needs escaped (text and quoted attributes); unlike Mustache's default, `/` and `=` stay readable. */
const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** Renders every part of `view.kind` with the tenant's templates over the defaults. */
export function renderNotification(view: TemplateView, settings: NotificationSettings): RenderedNotification {
  const custom = settings.templates[view.kind] ?? {};
  const source = (part: TemplatePart): string => custom[part] ?? defaultTemplate(view.kind, part);
  const plain = (template: string, partials: Record<string, string>) =>
    Mustache.render(template, view, partials, { escape: asIs });
  const subject = plain(source('subject'), {}).replace(/\s+/g, ' ').trim();
  // The subject comes in as a partial already rendered, so it is escaped once (html) or not at all.
  const partial = { title: '{{__title}}' };
  const withTitle = { ...view, __title: subject };
  return {
    subject,
    text: Mustache.render(source('text'), withTitle, partial, { escape: asIs }),
    html: Mustache.render(source('html'), withTitle, partial, { escape: escapeHtml }),
    sms: Mustache.render(source('sms'), withTitle, partial, { escape: asIs }).trim(),
    push: Mustache.render(source('push'), withTitle, partial, { escape: asIs }).trim(),
  };
}
