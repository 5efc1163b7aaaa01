import fc from 'fast-check';
import { ACTIONS, EVENT_TYPES } from '../../src/engine/index.ts';
import { MAX_FIELDS_BYTES } from '../../src/gateway/schemas/common.ts';

const EVENT_NAMES = new Set<string>([...EVENT_TYPES, '*']);

/**
 * Generators of hostile input for the gateway fuzz test. Everything a
 * "poison" generator yields is invalid by construction (it fails a schema, a
 * role or a header check whatever else the request carries), so a fuzzed
 * write can never succeed by chance and the demo tenant's state must not move.
 */

/** Strings attackers and broken clients send. */
export const NASTY: readonly string[] = [
  "' OR 1=1 --",
  '"; DROP TABLE runtimes; --',
  "admin'--",
  '${process.exit(1)}',
  '#{7*7}{{7*7}}',
  '`id`',
  '__proto__',
  'constructor',
  'prototype',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '\u0000',
  'a\u0000b',
  '\u202eevil\u202c',
  '\u200f\u200e',
  '\ufeff',
  '\ud800',
  '\udfff',
  'x\ud83dy',
  '😀👨‍👩‍👧‍👦',
  'Z̷̢͎a̸l̵g̶o̷',
  '\u00c0\u00af',
  '\r\nSet-Cookie: a=1',
  '<script>alert(1)</script>',
  '{"$gt":""}',
  '%s%n%x',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0x10',
  '',
  ' ',
  'a'.repeat(5_000),
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.tuple(fc.constantFrom(...NASTY), fc.string({ maxLength: 8 })).map(([a, b]) => a + b),
);

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '__defineGetter__',
    '$where',
    'a.b',
    '',
  ),
  nastyString,
);

/** Any JSON value, prototype keys and nasty strings included (objects may have a null prototype). */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.jsonValue({ maxDepth: 1 }),
    nastyString,
    fc.constantFrom(1e308, -0, 2 ** 53 + 2, 0.1, -1),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }),
    fc.array(tie('value'), { maxLength: 4 }),
  ),
})).value;

export const hostileObject = fc.dictionary(hostileKey, hostileValue, { maxKeys: 4 });

const nonString = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(hostileValue, { maxLength: 3 }),
  hostileObject,
);
const nonObject = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  nastyString,
  fc.array(hostileValue, { maxLength: 3 }),
);
const nonArray = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), nastyString, hostileObject);

const ID_OK = /^[A-Za-z0-9_.:@-]+$/;
const BAD_ID_CHARS = [
  ' ',
  "'",
  '"',
  '<',
  '>',
  '$',
  '{',
  '}',
  '/',
  '\\',
  '%',
  '?',
  '#',
  '&',
  '=',
  '+',
  ',',
  ';',
  '\u0000',
  '\u202e',
  '\u200f',
  'é',
  '😀',
  '\r\n',
  '\t',
  '|',
  '`',
  '^',
  '~',
  '!',
  '*',
  '(',
  ')',
  '[',
  ']',
];

/** A string idSchema refuses (a bad character, or longer than 128); never only dots. */
export const badIdString: fc.Arbitrary<string> = fc
  .oneof(
    fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9]{0,8}$/), fc.constantFrom(...BAD_ID_CHARS), fc.string({ maxLength: 8 }))
      .map(([a, b, c]) => a + b + c),
    fc.constantFrom("' OR 1=1 --", '${7*7}', '__proto__ x', '../etc/passwd', '..%2f..%2f', 'a'.repeat(129)),
    fc.stringMatching(/^[A-Za-z0-9]{129,160}$/),
  )
  .filter((s) => !(ID_OK.test(s) && s.length <= 128));

/** A value the id schemas refuse: a bad string or not a string at all. */
export const badIdValue: fc.Arbitrary<unknown> = fc.oneof(badIdString, nonString);

/** A path segment that decodes to an id the path schemas refuse (never a dot segment). */
export const badIdSegment: fc.Arbitrary<string> = fc.oneof(
  badIdString.map(encodeURIComponent),
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9]{0,6}$/),
      fc.constantFrom('%ED%A0%80', '%C0%AF', '%FF', '%', '%E2%80%AE', '%00', '%u0041', '%25'),
    )
    .map(([a, b]) => a + b),
);

/** Path segments that climb out of their route (only for requests that cannot write: reads, bad tokens). */
export const TRAVERSALS = [
  '..',
  '../..',
  '../../../..',
  '..%2f..',
  '%2e%2e',
  '%2e%2e%2f',
  '....//',
  '..;',
  '.',
  './.',
  '..\\..',
  '%252e%252e',
  '%2e%2e/%2e%2e/health',
];

const badText = (max: number) => fc.oneof(nonString, fc.constant(''), fc.constant('n'.repeat(max + 1)));
const notOneOf = (values: readonly string[]) =>
  fc.oneof(
    nastyString.filter((s) => !values.includes(s)),
    nonString,
  );

/** An object (or array) nested `n` levels, built without recursion. */
function nest(n: number, array: boolean): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = array ? [v] : { a: v };
  return v;
}

/** A document or patch nested deeper than the gateway admits (64 levels below it), shallow enough for JSON.stringify. */
const tooDeepFields = fc
  .tuple(fc.integer({ min: 65, max: 1_500 }), fc.boolean())
  .map(([n, array]) => ({ extra: nest(n, array) }));

/** A document or patch just over the gateway's size cap (it must fit one NATS message with the state). */
const tooLargeFields = fc
  .integer({ min: 1, max: 4_096 })
  .map((over) => ({ note: 'n'.repeat(MAX_FIELDS_BYTES + over) }));

/** One entry that makes a body of each kind fail its schema, set last (after any random keys). */
export const BODY_POISONS = {
  start: fc.oneof(
    fc.tuple(fc.constant('app'), fc.oneof(badIdString, nonString, fc.constant('a'.repeat(101)))),
    fc.tuple(fc.constant('docId'), badIdValue),
    fc.tuple(fc.constant('doc'), nonObject),
    fc.tuple(fc.constant('doc'), tooDeepFields),
    fc.tuple(fc.constant('doc'), tooLargeFields),
    fc.tuple(fc.constant('companyId'), badIdValue),
  ),
  action: fc.oneof(
    fc.tuple(fc.constant('action'), notOneOf(ACTIONS)),
    fc.tuple(
      fc.constant('expectedRevision'),
      fc.oneof(fc.constantFrom<unknown>(-1, 1.5, '1', null, true, [], {}), fc.integer({ max: -1 })),
    ),
    fc.tuple(fc.constant('comment'), fc.oneof(nonString, fc.constant('c'.repeat(10_001)))),
    fc.tuple(fc.constantFrom('toNode', 'toEmployee', 'nextAssignee', 'fromEmployee'), badIdValue),
    fc.tuple(fc.constant('patch'), nonObject),
    fc.tuple(fc.constant('patch'), tooDeepFields),
    fc.tuple(fc.constant('patch'), tooLargeFields),
  ),
  definition: fc.oneof(
    fc.tuple(fc.constant('nodes'), nonArray),
    fc.tuple(fc.constant('app'), fc.oneof(badIdString, nonString)),
    fc.tuple(fc.constant('name'), nonString),
  ),
  employee: fc.oneof(
    fc.tuple(fc.constant('name'), badText(200)),
    fc.tuple(
      fc.constant('email'),
      nastyString.filter((s) => !s.includes('@')),
    ),
    fc.tuple(fc.constant('active'), fc.oneof(fc.constant(null), fc.integer(), nastyString)),
    fc.tuple(fc.constantFrom('groupId', 'companyId'), badIdValue),
  ),
  group: fc.oneof(
    fc.tuple(fc.constant('name'), badText(200)),
    fc.tuple(fc.constant('level'), fc.constantFrom<unknown>(-1, 101, 1.5, '1', true, null)),
    fc.tuple(fc.constantFrom('parentId', 'managerId'), badIdValue),
  ),
  import: fc.oneof(
    fc.tuple(fc.constantFrom('employees', 'groups'), nonArray),
    fc.tuple(
      fc.constant('groups'),
      badIdString.map((id) => [{ id, name: 'G' }]),
    ),
    fc.tuple(fc.constant('employees'), fc.constant([{ id: 'fz-e', name: '' }])),
  ),
  retentionPolicy: fc.tuple(
    fc.constant('auditLogDays'),
    // Anything but null or a whole number of days from 1 to 36,500.
    fc.oneof(
      fc.constantFrom(0, -1, 1.5, 36_501, 1e308, '30', true, [], {}),
      fc.integer({ max: 0 }),
      fc.integer({ min: 36_501 }),
      fc.string(),
      hostileObject,
    ),
  ),
  appConfig: fc.oneof(
    fc.tuple(fc.constant('mode'), notOneOf(['apply', 'unapply', 'pending'])),
    fc.tuple(fc.constant('workflowId'), badIdValue),
    fc.tuple(fc.constant('autoMigrate'), fc.constantFrom<unknown>('true', 1, null, [], {})),
  ),
  migration: fc.oneof(
    fc.tuple(
      fc.constantFrom('fromVersion', 'toVersion'),
      fc.constantFrom<unknown>(0, -1, 1.5, '1', null, true, [], {}, 1_000_001),
    ),
    fc.tuple(fc.constant('nodeMap'), fc.oneof(nonObject, fc.constant({ manager: 'a b' }), fc.constant({ 'a/b': 'x' }))),
    fc.tuple(fc.constant('filter'), fc.constantFrom<unknown>({ status: 'approved' }, { node: '' }, 'x', [])),
    fc.tuple(fc.constantFrom('dryRun', 'allowEndNodes'), fc.constantFrom<unknown>('yes', 1, null)),
    fc.tuple(fc.constant('toWorkflowId'), badIdValue),
  ),
  webhook: fc.oneof(
    fc.tuple(
      fc.constant('url'),
      fc.oneof(
        nonString,
        fc.constantFrom(
          '',
          'ftp://hooks.example.com/x',
          'https://user:pw@hooks.example.com/x',
          'javascript:alert(1)',
          'file:///etc/passwd',
          '//hooks.example.com',
          'hooks.example.com/x',
          'https://hooks.example.com/x#frag',
          `https://h.example.com/${'p'.repeat(2_100)}`,
        ),
        nastyString.filter((u) => !/^https?:\/\//i.test(u)),
      ),
    ),
    fc.tuple(
      fc.constant('events'),
      fc.oneof(
        nonArray,
        fc.constant([]),
        fc.constant(['*', '*']),
        fc.constant(['runtime.nope']),
        fc.array(
          nastyString.filter((e) => !EVENT_NAMES.has(e)),
          { minLength: 1, maxLength: 3 },
        ),
      ),
    ),
    fc.tuple(
      fc.constant('secret'),
      fc.oneof(nonString, fc.constant(''), fc.constant('short'), fc.constant('s'.repeat(257))),
    ),
  ),
  preferences: fc.oneof(
    fc.tuple(fc.constant('channels'), nonObject),
    fc.tuple(fc.constant('channels'), fc.constant({ task_assigned: ['carrier-pigeon'] })),
    fc.tuple(fc.constant('channels'), fc.constant({ no_such_kind: ['in_app'] })),
    fc.tuple(fc.constant('pushTokens'), fc.oneof(nonArray, fc.constant(['']), fc.constant(Array(11).fill('t')))),
  ),
  settings: fc.oneof(
    fc.tuple(
      fc.constantFrom('defaultChannels', 'disabledChannels'),
      fc.oneof(nonArray, fc.constant(['in_app', 'in_app'])),
    ),
    fc.tuple(fc.constant('defaultChannels'), fc.constant(['fax'])),
    fc.tuple(fc.constant('templates'), nonObject),
  ),
} satisfies Record<string, fc.Arbitrary<[string, unknown]>>;

export type BodyKind = keyof typeof BODY_POISONS | 'batch';

/** JSON text no parser accepts (a complete value followed by junk, or junk alone). No BOM: Request.json() strips it. */
export const malformedJson: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(hostileValue, fc.constantFrom('}', ',', ']', '\u0000', ' x', '{', '"', "'", '/*', ' // c', '\n}', 'NaN'))
    .map(([v, junk]) => JSON.stringify(v) + junk),
  nastyString.map((s) => `}${s}`),
  fc.constantFrom(
    "{'a':1}",
    '{"a":1,}',
    '{"a":01}',
    '{"a":.5}',
    '{a:1}',
    '{"a":"\u0001"}',
    '{"a":undefined}',
    '[1,]',
    '{"a":1}{"b":2}',
    '\u0000',
    '{"\\ud800":1',
    '{"a":"\\x41"}',
  ),
);

/** JSON text of a value that is not an object (every body schema wants one). */
export const nonObjectJson: fc.Arbitrary<string> = fc.oneof(
  nonObject.map((v) => JSON.stringify(v)),
  fc.integer({ min: 1_000, max: 10_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
);

/** A JSON object nested `n` levels deep, as text (JSON.stringify of such an object would recurse). */
export const deepObjectText = (n: number): string => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

/** Content types the JSON routes must refuse (415), whatever the body. */
export const badContentType: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(
      'text/plain',
      'text/html',
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
      'application/json5',
      'application/json;',
      'application/json; charset',
      'json',
      'application/*',
      '*/*',
      'application/x-json',
      "application/json' OR 1=1 --",
      'application/json, text/plain',
    ),
    nastyString.map(latin1),
  )
  .filter(
    (v) =>
      v.trim() !== '' &&
      !/^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i.test(v.trim()) &&
      !/[\r\n\0]/.test(v),
  );

/** An Idempotency-Key the header schema refuses: a bad character inside (headers trim the ends), or too long. */
export const badIdempotencyKey: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9]{1,8}$/),
      fc.constantFrom(' ', '/', '\t', 'é', '😀', '"', "'", '$', '{', '%', '\\', ',', ';', '=', '+', '*', '<'),
      fc.stringMatching(/^[A-Za-z0-9]{1,8}$/),
    )
    .map(([a, b, c]) => latin1(a + b + c)),
  fc.constant('k'.repeat(129)),
  fc.constantFrom("' OR 1=1 --", '${key}', '../../key', '__proto__!'),
);

/** Header values are bytes: a string as its UTF-8 bytes read as latin1 (what a server sees), without CR, LF and NUL. */
export function latin1(s: string): string {
  return Buffer.from(s, 'utf8')
    .toString('latin1')
    .replace(/[\r\n\0]/g, '');
}

/** A hostile header value (X-Request-Id, Idempotency-Key, Authorization…), as bytes. */
export const hostileHeader: fc.Arbitrary<string> = fc.oneof(
  nastyString.map(latin1),
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,140}$/),
);

/** Query strings for list routes: hostile limit/cursor/status/app/docId, encoded or raw. */
export const hostileQuery: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.constantFrom('limit', 'cursor', 'status', 'app', 'docId', '__proto__', 'limit[]', 'constructor'),
      fc.oneof(
        nastyString.map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'))),
        fc.constantFrom(
          '0',
          '-1',
          '501',
          '1e3',
          '50.5',
          'NaN',
          'Infinity',
          '0x10',
          '%20',
          '',
          '%',
          '%ZZ',
          '%00',
          'open',
          'done',
          'approved',
          'a'.repeat(600),
          '__proto__',
          "'%20OR%201=1%20--",
          '..%2F..',
          '5&limit=6',
        ),
        fc.integer().map(String),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));
