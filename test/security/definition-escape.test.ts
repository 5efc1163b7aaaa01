import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { evaluateCondition } from '../../src/engine/conditions.ts';
import { validateDefinition, type Condition, type FieldType } from '../../src/engine/index.ts';
import { MAX_DEFINITION_DEPTH } from '../../src/engine/validate-definition.ts';
import {
  actOk,
  demoAdmin,
  demoDesigner,
  demoMember,
  leakIn,
  poDoc,
  securityGateway,
  startPo,
  type SecurityGateway,
} from './security-fixture.ts';

/**
 * Definitions that try to leave the condition language (prototype names,
 * unknown functions, code in strings, nesting that would blow the stack) are
 * refused with paths, by the engine and by `POST /api/v1/workflows/validate`;
 * document keys that would reach Object.prototype are refused at start and in patches.
 */

const FIELDS = { amount: 'number', note: 'string', items: 'array', requester: 'employee' } as const;
const PROTO_NAMES = ['__proto__', 'constructor', 'prototype'] as const;

/** A valid definition (start → manager → approved) whose manager→approved association carries `condition`. */
function definition(condition?: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    app: 'sec.test',
    name: 'Security test',
    fields: { ...FIELDS },
    zones: [{ id: 'notes', title: 'Notes', fields: ['note'] }],
    nodes: [
      { id: 'start', kind: 'initial', title: 'Start' },
      {
        id: 'manager',
        kind: 'task',
        title: 'Manager',
        actions: ['approve', 'reject'],
        collaborators: { type: 'in_workflow', members: [{ position: 'manager_1' }] },
      },
      {
        id: 'big',
        kind: 'task',
        title: 'Big',
        actions: ['approve'],
        collaborators: { type: 'in_workflow', members: [{ employee: 'ceo' }] },
      },
      { id: 'approved', kind: 'approved', title: 'Approved' },
    ],
    associations: [
      { from: 'start', to: 'manager' },
      ...(condition === undefined ? [] : [{ from: 'manager', to: 'big', condition }]),
      { from: 'manager', to: 'approved', else: true },
      { from: 'big', to: 'approved' },
    ],
    ...extra,
  };
}

/** The same definition as JSON text with `raw` spliced in where `marker` stands (JSON.parse keeps a `__proto__` key; object literals would not). */
function rawDefinition(condition: unknown, marker: string, raw: string): string {
  const text = JSON.stringify(definition(condition));
  if (!text.includes(marker)) throw new Error(`marker ${marker} not in the definition`);
  return text.replace(marker, raw);
}

const leaf = (left: unknown, op: string, right: unknown) => ({ left, op, right });
const COND = 'associations[1].condition';

function errorsOf(input: unknown): { path: string; message: string }[] {
  const result = validateDefinition(input);
  if (result.ok) throw new Error(`expected a refusal: ${JSON.stringify(input).slice(0, 200)}`);
  return result.errors;
}

/** Every escape attempt: [name, the definition as JSON text, a path (prefix) the refusal must name]. */
const ESCAPES: [string, string, string][] = [
  ...PROTO_NAMES.map((n): [string, string, string] => [
    `field name ${n}`,
    rawDefinition(undefined, '"fields":{', `"fields":{"${n}":"string",`),
    `fields.${n}`,
  ]),
  ...PROTO_NAMES.map((n): [string, string, string] => [
    `condition left ${n}`,
    JSON.stringify(definition(leaf(n, '=', 1))),
    `${COND}.left`,
  ]),
  ...PROTO_NAMES.map((n): [string, string, string] => [
    `condition {field: ${n}}`,
    JSON.stringify(definition(leaf('amount', '=', { field: n }))),
    `${COND}.right.field`,
  ]),
  ...PROTO_NAMES.map((n): [string, string, string] => [
    `zone field ${n}`,
    JSON.stringify(definition(undefined, { zones: [{ id: 'z', title: 'Z', fields: ['note', n] }] })),
    'zones[0].fields[1]',
  ]),
  ...PROTO_NAMES.map((n): [string, string, string] => [
    `node zone ${n}`,
    rawDefinition(undefined, '"title":"Manager",', `"title":"Manager","zones":{"editable":["${n}"]},`),
    'nodes[1].zones.editable[0]',
  ]),
  ...PROTO_NAMES.map((n): [string, string, string] => [
    `sumItemIf item total ${n}`,
    JSON.stringify(definition(leaf({ fn: 'sumItemIf', args: ['items', n, leaf('category', '=', 'capex')] }, '>', 0))),
    `${COND}.left.args[1]`,
  ]),
  ...PROTO_NAMES.map((n): [string, string, string] => [
    `sumItemIf item condition ${n}`,
    JSON.stringify(definition(leaf({ fn: 'sumItemIf', args: ['items', 'total', leaf(n, '=', 'x')] }, '>', 0))),
    `${COND}.left.args[2].left`,
  ]),
  ...[
    'eval',
    'Function',
    'require',
    'process.exit',
    'constructor',
    '__proto__',
    'toString',
    'import',
    'sumItemIf ',
    'MAX',
  ].map((fn): [string, string, string] => [
    `function ${fn}`,
    JSON.stringify(definition(leaf({ fn, args: ['amount'] }, '>', 0))),
    `${COND}.left`,
  ]),
  [
    'function with a {__proto__} operand',
    rawDefinition(leaf({ fn: 'max', args: ['amount', 'MARK'] }, '>', 0), '"MARK"', '{"__proto__":{"field":"amount"}}'),
    `${COND}.left`,
  ],
  [
    'condition object keyed __proto__',
    rawDefinition(leaf('amount', '>', 0), '{"left":"amount"', '{"__proto__":{"op":"="},"left":"amount"'),
    `${COND}`,
  ],
];

describe('definition escape - validateDefinition refuses with paths', () => {
  it.each(ESCAPES)('definition escape - %s', (_name, text, path) => {
    const errors = errorsOf(JSON.parse(text));
    expect(
      errors.some((e) => e.path.startsWith(path)),
      JSON.stringify(errors),
    ).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('definition escape - nesting 1000 and 10000 levels deep is refused at a path, without a stack overflow', () => {
    for (const depth of [1000, 10_000]) {
      let and: unknown = leaf('amount', '>', 1);
      let fn: unknown = 'amount';
      let operand: unknown = 'amount';
      for (let i = 0; i < depth; i++) {
        and = { and: [and] };
        fn = { fn: 'max', args: [fn] };
        operand = leaf(operand, '=', true);
      }
      for (const cond of [and, leaf(fn, '>', 1), operand]) {
        const errors = errorsOf(definition(cond));
        expect(errors).toEqual([
          {
            path: expect.stringMatching(/^associations\[1\]\.condition/),
            message: expect.stringContaining(`deeper than ${MAX_DEFINITION_DEPTH}`),
          },
        ]);
      }
    }
  });

  it('definition escape - the deepest legal condition (32 levels) still validates under the nesting bound', () => {
    let and: unknown = leaf('amount', '>', 1);
    for (let i = 1; i < 32; i++) and = { and: [and] };
    expect(validateDefinition(definition(and)).ok).toBe(true);
    let fn: unknown = 'amount';
    for (let i = 2; i < 32; i++) fn = { fn: 'max', args: [fn] };
    expect(validateDefinition(definition(leaf(fn, '>', 1))).ok).toBe(true);
  });

  it('definition escape - huge arrays are refused by their bounds, quickly', () => {
    const huge = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
    const cases: [unknown, string][] = [
      [definition({ and: huge(50_000, () => leaf('amount', '>', 1)) }), `${COND}.and`],
      [definition(leaf({ fn: 'max', args: huge(50_000, () => 'amount') }, '>', 1)), `${COND}`],
      [{ ...definition(), nodes: huge(20_000, (i) => ({ id: `n${i}`, kind: 'task', title: 'T' })) }, 'nodes'],
      [{ ...definition(), associations: huge(50_000, () => ({ from: 'start', to: 'manager' })) }, 'associations'],
      [
        definition(undefined, { zones: [{ id: 'z', title: 'Z', fields: huge(50_000, (i) => `f${i}`) }] }),
        'zones[0].fields',
      ],
    ];
    for (const [input, path] of cases) {
      const errors = errorsOf(input);
      expect(
        errors.some((e) => e.path.startsWith(path)),
        `${path}: ${JSON.stringify(errors.slice(0, 3))}`,
      ).toBe(true);
    }
  });
});

describe('definition escape - strings that look like code are inert literals', () => {
  const CODE = [
    'process.exit()',
    '${process.exit(1)}',
    "'); process.exit(1); ('",
    'require("child_process").execSync("id")',
    'constructor.constructor("return process")().exit()',
    '`${globalThis.polluted = 1}`',
  ];
  const fields: Readonly<Record<string, FieldType>> = { ...FIELDS };
  afterEach(() => vi.restoreAllMocks());

  it.each(CODE)('definition escape - %s compares as a string and runs nothing', (code) => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    const conds: Condition[] = [
      { left: 'note', op: '=', right: code },
      { left: 'note', op: 'contains', right: code },
      { left: { fn: 'contains', args: ['note', code] }, op: 'is', right: true },
      {
        left: { fn: 'sumItemIf', args: ['items', 'total', { left: 'category', op: '=', right: code }] },
        op: '>',
        right: 0,
      },
    ];
    for (const cond of conds) expect(validateDefinition(definition(cond)).ok).toBe(true);
    const doc = { note: code, items: [{ category: code, total: 5 }] };
    for (const cond of conds) expect(evaluateCondition(cond, doc, fields)).toBe(true);
    expect(evaluateCondition({ left: 'note', op: '=', right: code }, { note: 'other' }, fields)).toBe(false);
    // A string on the left names a field: code is only an unknown field name.
    expect(errorsOf(definition(leaf(code, '=', 1))).map((e) => e.path)).toContain(`${COND}.left`);
    expect(exit).not.toHaveBeenCalled();
    expect((globalThis as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('definition escape - over HTTP', () => {
  let gw: SecurityGateway;
  beforeAll(async () => {
    gw = await securityGateway();
  });
  afterAll(() => gw.stop());

  const validate = (body: string) =>
    gw.token(demoDesigner).then((t) =>
      gw.app.request('/api/v1/workflows/validate', {
        method: 'POST',
        headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' },
        body,
      }),
    );

  async function refused(res: Response): Promise<{ code: string; errors: { path: string; message: string }[] }> {
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const text = await res.text();
    expect(leakIn(text)).toBeUndefined();
    const body = JSON.parse(text) as { code: string; errors: { path: string; message: string }[] };
    expect(body.code).toBe('validation_failed');
    return body;
  }

  it.each(ESCAPES)(
    'definition escape - POST /workflows/validate refuses %s with 422 and its path',
    async (_name, text, path) => {
      const { errors } = await refused(await validate(text));
      expect(
        errors.some((e) => e.path.startsWith(path)),
        JSON.stringify(errors),
      ).toBe(true);
    },
  );

  it('definition escape - POST /workflows/validate refuses 1000- and 10000-level nesting with 422 (was a 500: stack overflow in the schema)', async () => {
    for (const depth of [1000, 10_000]) {
      const text = JSON.stringify(definition(leaf('amount', '>', 1)))
        .replace('{"left":"amount"', `${'{"and":['.repeat(depth)}{"left":"amount"`)
        .replace('"right":1}', `"right":1}${']}'.repeat(depth)}`);
      const { errors } = await refused(await validate(text));
      expect(errors[0]?.path).toMatch(/^associations\[1\]\.condition\.and\[0\]/);
    }
  });

  it('definition escape - a valid definition with code-like strings is 200 {valid: true}', async () => {
    const res = await validate(JSON.stringify(definition(leaf('note', '=', 'process.exit()'))));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ valid: true });
  });

  describe('definition escape - prototype keys in documents', () => {
    const POLLUTERS = [
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"prototype":{"polluted":true}}',
    ];

    it.each(POLLUTERS)(
      'definition escape - doc %s at start is refused (422) and pollutes nothing (regression: a __proto__ key was silently dropped, 201)',
      async (polluter) => {
        const doc = `{${polluter.slice(1, -1)},${JSON.stringify(poDoc(1)).slice(1)}`;
        const body = `{"app":"purchase.order","docId":"PO-POLLUTE-${POLLUTERS.indexOf(polluter)}","doc":${doc}}`;
        const res = await gw.app.request('/api/v1/runtimes', {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${await gw.token(demoMember('alice'))}`,
            'Content-Type': 'application/json',
          },
          body,
        });
        const { errors } = await refused(res);
        expect(errors.map((e) => e.path)).toContainEqual(expect.stringMatching(/^doc\b/));
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty('polluted');
        const list = (await (
          await gw.call(demoAdmin, 'GET', `/api/v1/runtimes?docId=PO-POLLUTE-${POLLUTERS.indexOf(polluter)}`)
        ).json()) as { items: unknown[] };
        expect(list.items).toEqual([]);
      },
    );

    it.each(POLLUTERS)(
      'definition escape - patch %s (alone and beside a valid field) is refused (422) and changes nothing (regression: beside a field, __proto__ was dropped and the update applied)',
      async (polluter) => {
        const { id, revision } = await startPo(gw, `PO-PATCH-${POLLUTERS.indexOf(polluter)}`);
        const token = await gw.token(demoMember('alice'));
        for (const patch of [polluter, polluter.replace(/^\{/, '{"note":"changed",')]) {
          const body = `{"action":"update","patch":${patch}}`;
          const res = await gw.app.request(`/api/v1/runtimes/${id}/actions`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            body,
          });
          const { errors } = await refused(res);
          expect(errors.map((e) => e.path)).toContainEqual(expect.stringMatching(/^patch\b/));
        }
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
        const view = await (await gw.call(demoMember('alice'), 'GET', `/api/v1/runtimes/${id}`)).json();
        expect(view).toMatchObject({ revision, doc: { note: 'n' } });
        // The runtime still takes a plain update: the refusal was about the key, not the runtime.
        await actOk(gw, demoMember('alice'), id, { action: 'update', patch: { note: 'ok' } });
      },
    );
  });
});
