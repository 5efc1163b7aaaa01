import { describe, expect, it } from 'vitest';
import type { Condition, FieldType, Operand, Operator } from './definition-schema.ts';
import { conditionSchema } from './definition-schema.ts';
import { EngineError } from './errors.ts';
import { checkCondition, evaluateCondition, isoInstant } from './conditions.ts';

const fields: Record<string, FieldType> = {
  amount: 'number',
  limit: 'number',
  discount: 'number',
  note: 'string',
  currency: 'string',
  urgent: 'boolean',
  due: 'date',
  deadline: 'date',
  requester: 'employee',
  approver: 'employee',
  items: 'array',
  tags: 'array',
};

const doc = {
  amount: 150,
  limit: 100,
  discount: 20,
  note: 'urgent capex order',
  currency: 'VND',
  urgent: true,
  due: '2024-05-01',
  deadline: '2024-05-01T09:00:00+07:00',
  requester: 'e-1',
  approver: 'e-2',
  items: [
    { category: 'capex', total: 60, qty: 2 },
    { category: 'opex', total: 30, qty: 1 },
    { category: 'capex', total: 50, qty: 5 },
  ],
  tags: ['a', 'b', 7, true, { id: 'x' }],
};

const leaf = (left: Operand, op: Operator, right: Operand): Condition => ({ left, op, right });
const run = (cond: Condition, d: Record<string, unknown> = doc): boolean => evaluateCondition(cond, d, fields);
const check = (cond: unknown, f: Record<string, FieldType> = fields) => checkCondition(cond as Condition, f, 'c');

/** The EngineError a run throws (fails the test if it does not throw one). */
function runError(cond: Condition, d: Record<string, unknown> = doc): EngineError {
  try {
    run(cond, d);
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    expect((e as EngineError).code).toBe('condition_error');
    return e as EngineError;
  }
  throw new Error('expected a condition_error');
}

describe('conditions - number operators', () => {
  it.each<[Operator, number, boolean]>([
    ['=', 150, true],
    ['=', 149, false],
    ['!=', 149, true],
    ['!=', 150, false],
    ['<', 151, true],
    ['<', 150, false],
    ['<=', 150, true],
    ['<=', 149, false],
    ['>', 149, true],
    ['>', 150, false],
    ['>=', 150, true],
    ['>=', 151, false],
  ])('amount %s %d is %s', (op, right, expected) => {
    expect(run(leaf('amount', op, right))).toBe(expected);
  });

  it('compares two fields with {field} on the right, and {field} on the left', () => {
    expect(run(leaf('amount', '>', { field: 'limit' }))).toBe(true);
    expect(run(leaf({ field: 'limit' }, '>=', { field: 'amount' }))).toBe(false);
  });
});

describe('conditions - string, employee and boolean operators', () => {
  it('string = != contains not_contain', () => {
    expect(run(leaf('currency', '=', 'VND'))).toBe(true);
    expect(run(leaf('currency', '!=', 'USD'))).toBe(true);
    expect(run(leaf('note', 'contains', 'capex'))).toBe(true);
    expect(run(leaf('note', 'contains', 'Capex'))).toBe(false);
    expect(run(leaf('note', 'not_contain', 'opex'))).toBe(true);
    expect(run(leaf('note', 'not_contain', 'capex'))).toBe(false);
  });

  it('employee = != against a literal id and another employee field', () => {
    expect(run(leaf('requester', '=', 'e-1'))).toBe(true);
    expect(run(leaf('requester', '!=', 'e-1'))).toBe(false);
    expect(run(leaf('requester', '=', { field: 'approver' }))).toBe(false);
    expect(run(leaf('requester', '!=', { field: 'approver' }))).toBe(true);
  });

  it('boolean = !=', () => {
    expect(run(leaf('urgent', '=', true))).toBe(true);
    expect(run(leaf('urgent', '=', false))).toBe(false);
    expect(run(leaf('urgent', '!=', false))).toBe(true);
  });

  it('a bare string on the right is a literal, not a field', () => {
    expect(run(leaf('requester', '=', 'approver'))).toBe(false);
    expect(run(leaf('currency', '=', 'currency'), { currency: 'currency' })).toBe(true);
  });
});

describe('conditions - is', () => {
  it('is null is true for missing, undefined and null values only', () => {
    expect(run(leaf('note', 'is', null), {})).toBe(true);
    expect(run(leaf('note', 'is', null), { note: undefined })).toBe(true);
    expect(run(leaf('note', 'is', null), { note: null })).toBe(true);
    expect(run(leaf('note', 'is', null))).toBe(false);
    expect(run(leaf('amount', 'is', null), { amount: 0 })).toBe(false);
    expect(run(leaf('items', 'is', null))).toBe(false);
  });

  it('is true / is false test a boolean; a missing flag is neither', () => {
    expect(run(leaf('urgent', 'is', true))).toBe(true);
    expect(run(leaf('urgent', 'is', false))).toBe(false);
    expect(run(leaf('urgent', 'is', false), { urgent: false })).toBe(true);
    expect(run(leaf('urgent', 'is', true), {})).toBe(false);
    expect(run(leaf('urgent', 'is', false), {})).toBe(false);
  });

  it('is true on a non-boolean value is a condition_error', () => {
    expect(runError(leaf('urgent', 'is', true), { urgent: 'yes' }).message).toBe(
      'associations condition: field "urgent" is a string ("yes"), expected boolean for "is"',
    );
  });

  it('is with anything but null/true/false on the right is a condition_error', () => {
    expect(runError(leaf('urgent', 'is', 'yes')).message).toContain('operator "is" needs null, true or false');
  });
});

describe('conditions - null and missing values', () => {
  it('= and != with null are null tests, without error', () => {
    expect(run(leaf('amount', '=', null), {})).toBe(true);
    expect(run(leaf('amount', '!=', null), {})).toBe(false);
    expect(run(leaf('amount', '=', null))).toBe(false);
    expect(run(leaf('amount', '=', 5), {})).toBe(false);
    expect(run(leaf('amount', '!=', 5), {})).toBe(true);
    expect(run(leaf('amount', '=', { field: 'limit' }), {})).toBe(true);
  });

  it('ordering with a missing value is a condition_error naming the field', () => {
    expect(runError(leaf('amount', '>', 5), {}).message).toBe(
      'associations condition: field "amount" is null (missing), expected number for ">"',
    );
    expect(runError(leaf('amount', '<', { field: 'limit' }), { amount: 1 }).message).toContain('field "limit" is null');
  });

  it('a missing haystack contains nothing', () => {
    expect(run(leaf('note', 'contains', 'x'), {})).toBe(false);
    expect(run(leaf('tags', 'not_contain', 'x'), {})).toBe(true);
  });

  it('reads only own properties: inherited values are missing', () => {
    const inherited = Object.create({ amount: 999 }) as Record<string, unknown>;
    expect(run(leaf('amount', 'is', null), inherited)).toBe(true);
  });
});

describe('conditions - run-time type mismatches', () => {
  it('a string in a number field', () => {
    expect(runError(leaf('amount', '>', 5), { amount: 'abc' }).message).toBe(
      'associations condition: field "amount" is a string ("abc"), expected number',
    );
  });

  it('equality does not hide a mismatch behind a silent false', () => {
    expect(runError(leaf('amount', '=', 5), { amount: '5' }).message).toContain(
      'field "amount" is a string ("5"), expected number',
    );
    expect(runError(leaf('urgent', '=', true), { urgent: 1 }).message).toContain(
      'field "urgent" is a number (1), expected boolean',
    );
  });

  it('a literal of the wrong type on the right', () => {
    expect(runError(leaf('amount', '>', 'ten')).message).toContain('value "ten" is a string ("ten"), expected number');
  });

  it('an unparseable date', () => {
    expect(runError(leaf('due', '<', '2024-06-01'), { due: 'tomorrow' }).message).toBe(
      'associations condition: field "due" is a string ("tomorrow"), expected date (ISO 8601 string)',
    );
    expect(runError(leaf('due', '<', '2024-02-30')).message).toContain('value "2024-02-30"');
  });

  it('a non-array in an array field, an object in a string field', () => {
    expect(runError(leaf('tags', 'contains', 'a'), { tags: 'a,b' }).message).toContain(
      'field "tags" is a string ("a,b"), expected array',
    );
    expect(runError(leaf('note', 'contains', 'a'), { note: { a: 1 } }).message).toContain(
      'field "note" is an object, expected string',
    );
  });

  it('an operator that does not fit the declared type', () => {
    expect(runError(leaf('note', '>', 'a')).message).toContain('operator ">" does not apply to string (field "note")');
  });

  it('an undeclared field', () => {
    expect(runError(leaf('ghost', '=', 1)).message).toContain('field "ghost" is not declared');
  });
});

describe('conditions - dates', () => {
  it('compares ISO dates and date-times as instants', () => {
    expect(run(leaf('due', '=', '2024-05-01T00:00:00Z'))).toBe(true);
    expect(run(leaf('due', '<', '2024-05-01T00:00:01Z'))).toBe(true);
    expect(run(leaf('due', '>=', '2024-04-30T23:59:59.999Z'))).toBe(true);
    expect(run(leaf('due', '!=', '2024-05-01T07:00:00+07:00'))).toBe(false);
    // 09:00+07:00 is 02:00Z on the same day.
    expect(run(leaf('deadline', '>', { field: 'due' }))).toBe(true);
    expect(run(leaf('deadline', '<', '2024-05-01T02:00:00.001Z'))).toBe(true);
    expect(run(leaf('deadline', '<=', '2024-05-01T02:00'))).toBe(true);
  });

  it('isoInstant agrees with Date.parse on offset forms and refuses loose ones', () => {
    for (const s of [
      '2024-02-29',
      '1999-12-31T23:59:59Z',
      '2024-05-01T09:00:00.5+07:00',
      '0050-01-01',
      '2024-05-01T09:00-0130',
    ]) {
      expect(isoInstant(s)).toBe(Date.parse(s.replace(/-0130$/, '-01:30')));
    }
    expect(isoInstant('2024-05-01 10:00:00')).toBe(Date.parse('2024-05-01T10:00:00Z'));
    for (const s of [
      '2023-02-29',
      '2024-13-01',
      '2024-05-01T24:00',
      'May 1 2024',
      '2024-5-1',
      '2024-05-01T10',
      '2024-05-01Z',
      '2024-05-01T10:00:00.',
    ]) {
      expect(isoInstant(s)).toBeNaN();
    }
  });
});

describe('conditions - arrays', () => {
  it('contains / not_contain test element equality on primitives', () => {
    expect(run(leaf('tags', 'contains', 'a'))).toBe(true);
    expect(run(leaf('tags', 'contains', 7))).toBe(true);
    expect(run(leaf('tags', 'contains', true))).toBe(true);
    expect(run(leaf('tags', 'contains', '7'))).toBe(false);
    expect(run(leaf('tags', 'not_contain', 'z'))).toBe(true);
    expect(run(leaf('tags', 'not_contain', 'a'))).toBe(false);
  });

  it('an array of objects never matches a primitive needle', () => {
    expect(run(leaf('items', 'contains', 'capex'))).toBe(false);
    expect(run(leaf('tags', 'contains', 'x'))).toBe(false);
  });

  it('the needle can be a field', () => {
    expect(run(leaf('tags', 'contains', { field: 'currency' }), { tags: ['VND'], currency: 'VND' })).toBe(true);
  });

  it('a null needle is a condition_error', () => {
    expect(runError(leaf('tags', 'contains', { field: 'currency' }), { tags: ['a'] }).message).toContain(
      'field "currency" is null (missing), expected a string, number or boolean',
    );
  });
});

describe('conditions - and / or', () => {
  const yes = leaf('amount', '>', 1);
  const no = leaf('amount', '<', 1);
  const boom = leaf('amount', '>', 'not a number');

  it('and / or combine and nest', () => {
    expect(run({ and: [yes, yes] })).toBe(true);
    expect(run({ and: [yes, no] })).toBe(false);
    expect(run({ or: [no, yes] })).toBe(true);
    expect(run({ or: [no, no] })).toBe(false);
    expect(run({ and: [yes, { or: [no, { and: [yes, { or: [yes] }] }] }] })).toBe(true);
    expect(run({ or: [no, { and: [yes, { or: [no, no] }] }] })).toBe(false);
  });

  it('short-circuits: later branches are not evaluated', () => {
    expect(run({ and: [no, boom] })).toBe(false);
    expect(run({ or: [yes, boom] })).toBe(true);
    expect(() => run({ and: [yes, boom] })).toThrow(EngineError);
  });

  it('refuses nesting deeper than 32 levels at run time', () => {
    expect(runError(nest(33)).message).toContain('nesting deeper than 32');
    expect(run(nest(32))).toBe(true);
  });
});

/** A condition `depth` levels deep: ands around one leaf. */
function nest(depth: number): Condition {
  let c: Condition = leaf('amount', '>', 1);
  for (let i = 1; i < depth; i++) c = { and: [c] };
  return c;
}

describe('conditions - max and min', () => {
  it('take fields (bare string or {field}), literals and nested functions', () => {
    expect(run(leaf({ fn: 'max', args: ['amount', 'limit'] }, '=', 150))).toBe(true);
    expect(run(leaf({ fn: 'min', args: ['amount', { field: 'limit' }, 120] }, '=', 100))).toBe(true);
    expect(run(leaf({ fn: 'max', args: [{ fn: 'min', args: ['amount', 'limit'] }, 'discount'] }, '=', 100))).toBe(true);
    expect(run(leaf('amount', '>', { fn: 'max', args: ['limit', 'discount'] }))).toBe(true);
  });

  it('a non-numeric or missing argument is a condition_error', () => {
    expect(runError(leaf({ fn: 'max', args: ['amount', 'limit'] }, '>', 1), { amount: 1 }).message).toContain(
      'field "limit" is null (missing), expected number',
    );
    expect(runError(leaf({ fn: 'min', args: ['amount', true] }, '>', 1)).message).toContain(
      'argument 2 of min is a boolean',
    );
  });
});

describe('conditions - sumItemIf', () => {
  const capex: Condition = leaf('category', '=', 'capex');
  const sum = (cond: Condition): Operand => ({ fn: 'sumItemIf', args: ['items', 'total', cond] });

  it('sums the total of the items where the item condition holds', () => {
    expect(run(leaf(sum(capex), '=', 110))).toBe(true);
    expect(run(leaf(sum(leaf('qty', '>=', 2)), '=', 110))).toBe(true);
    expect(run(leaf(sum({ and: [capex, leaf('qty', '>', 2)] }), '=', 50))).toBe(true);
    expect(run(leaf(sum({ or: [capex, leaf('category', 'contains', 'op')] }), '=', 140))).toBe(true);
  });

  it('evaluates the shared purchase-order example (manager → ceo)', () => {
    // Verbatim from examples/purchase-order.json, associations[1].
    const poFields: Record<string, FieldType> = {
      amount: 'number',
      currency: 'string',
      requester: 'employee',
      items: 'array',
      note: 'string',
      supplier: 'string',
    };
    const toCeo = conditionSchema.parse(
      JSON.parse(`{ "or": [
        { "left": "amount", "op": ">=", "right": 500000000 },
        { "left": { "fn": "sumItemIf", "args": ["items", "total", { "left": "category", "op": "=", "right": "capex" }] }, "op": ">", "right": 100000000 } ] }`),
    );
    const po = (items: unknown[], amount = 1) => ({ amount, items });
    const capexItem = (total: number) => ({ category: 'capex', total });
    expect(checkCondition(toCeo, poFields, 'associations[1].condition')).toEqual([]);
    expect(evaluateCondition(toCeo, po([capexItem(60_000_000), capexItem(50_000_000)]), poFields)).toBe(true);
    expect(
      evaluateCondition(toCeo, po([capexItem(60_000_000), { category: 'opex', total: 90_000_000 }]), poFields),
    ).toBe(false);
    expect(evaluateCondition(toCeo, po([capexItem(100_000_000)]), poFields)).toBe(false);
    expect(evaluateCondition(toCeo, po([], 500_000_000), poFields)).toBe(true);
    expect(evaluateCondition(toCeo, { amount: 5 }, poFields)).toBe(false);
  });

  it('{field} in the item condition reads the item, and item fields are typed by their values', () => {
    expect(run(leaf(sum(leaf('qty', '=', { field: 'qty' })), '=', 140))).toBe(true);
    expect(run(leaf(sum(leaf('when', '<', '2024-06-01')), '=', 7), { items: [{ when: '2024-05-01', total: 7 }] })).toBe(
      true,
    );
  });

  it('a missing list sums to 0', () => {
    expect(run(leaf(sum(capex), '=', 0), {})).toBe(true);
  });

  it('a non-numeric total names the item', () => {
    const items = [
      { category: 'capex', total: 1 },
      { category: 'capex', total: '2' },
    ];
    expect(runError(leaf(sum(capex), '>', 0), { items }).message).toBe(
      'associations condition: field "items[1].total" is a string ("2"), expected number',
    );
    expect(runError(leaf(sum(capex), '>', 0), { items: [{ category: 'capex' }] }).message).toContain(
      'field "items[0].total" is null',
    );
  });

  it('an item value of the wrong type for the item condition names the item', () => {
    expect(runError(leaf(sum(leaf('qty', '>', 1)), '>', 0), { items: [{ qty: 'many', total: 1 }] }).message).toContain(
      'field "items[0].qty" is a string ("many"), expected number',
    );
    expect(runError(leaf(sum(capex), '>', 0), { items: [5] }).message).toContain(
      'field "items[0]" is a number (5), expected an object',
    );
  });

  it('nests inside an item condition, with paths through both lists', () => {
    const inner: Operand = { fn: 'sumItemIf', args: ['parts', 'cost', leaf('kind', '=', 'steel')] };
    const d = {
      items: [
        { total: 5, parts: [{ kind: 'steel', cost: 3 }] },
        { total: 7, parts: [{ kind: 'wood', cost: 9 }] },
      ],
    };
    expect(run(leaf(sum(leaf(inner, '>', 0)), '=', 5), d)).toBe(true);
    const bad = { items: [{ total: 5, parts: [{ kind: 'steel', cost: 'x' }] }] };
    expect(runError(leaf(sum(leaf(inner, '>', 0)), '=', 5), bad).message).toContain(
      'field "items[0].parts[0].cost" is a string',
    );
  });
});

describe('conditions - contains function', () => {
  const containsFn = (a: Operand, b: Operand): Operand => ({ fn: 'contains', args: [a, b] });

  it('is used with "is true" or "= true"; A is a field, B a literal', () => {
    expect(run(leaf(containsFn('note', 'capex'), 'is', true))).toBe(true);
    expect(run(leaf(containsFn('note', 'note'), '=', true))).toBe(false);
    expect(run(leaf(containsFn('tags', 'b'), '=', true))).toBe(true);
    expect(run(leaf(containsFn('tags', 'z'), 'is', false))).toBe(true);
    expect(
      run(leaf(containsFn({ field: 'tags' }, { field: 'currency' }), '!=', true), { tags: ['VND'], currency: 'VND' }),
    ).toBe(false);
  });

  it('a wrong haystack type is a condition_error', () => {
    expect(runError(leaf(containsFn('amount', 'x'), 'is', true)).message).toContain(
      'operator "contains" does not apply to number',
    );
  });
});

describe('conditions - prototype keys', () => {
  it('refuses __proto__, constructor and prototype at run time', () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      expect(runError(leaf(name, 'is', null)).message).toContain(`field name "${name}" is not allowed`);
    }
    const evil: Operand = { fn: 'sumItemIf', args: ['items', '__proto__', leaf('category', '=', 'capex')] };
    expect(runError(leaf(evil, '>', 0)).message).toContain('item field name');
  });

  it('refuses them in the static check, with paths, even where fields are not declared', () => {
    const f = { ...fields, constructor: 'number' } as Record<string, FieldType>;
    expect(check(leaf('constructor', '>', 1), f)).toEqual([
      { path: 'c.left', message: 'field name "constructor" is not allowed' },
    ]);
    expect(check(leaf('amount', '=', { field: '__proto__' }))).toEqual([
      { path: 'c.right.field', message: 'field name "__proto__" is not allowed' },
    ]);
    const inItem = leaf({ fn: 'sumItemIf', args: ['items', 'prototype', leaf('__proto__', '=', 1)] }, '>', 0);
    expect(check(inItem).map((e) => e.path)).toEqual(['c.left.args[1]', 'c.left.args[2].left']);
  });
});

describe('conditions - static check', () => {
  it('accepts well-formed conditions of every kind', () => {
    const ok: Condition = {
      or: [
        leaf('amount', '>=', 10),
        leaf('due', '<', '2024-05-01T10:00:00Z'),
        leaf('due', '=', { field: 'deadline' }),
        leaf('note', 'contains', 'x'),
        leaf('requester', '=', { field: 'approver' }),
        leaf('currency', '=', null),
        leaf('urgent', 'is', true),
        leaf('tags', 'contains', 3),
        leaf('items', 'is', null),
        leaf({ fn: 'max', args: ['amount', 5, { fn: 'min', args: ['limit'] }] }, '<', { field: 'discount' }),
        leaf(
          {
            fn: 'sumItemIf',
            args: ['items', 'total', { and: [leaf('category', '=', 'capex'), leaf('when', '<', '2024-01-01')] }],
          },
          '>',
          1,
        ),
        leaf({ fn: 'contains', args: ['tags', 'x'] }, 'is', true),
      ],
    };
    expect(check(ok)).toEqual([]);
  });

  it('reports an undeclared field and a left literal', () => {
    expect(check(leaf('amout', '>', 1))).toEqual([
      { path: 'c.left', message: 'unknown field "amout"; declare it in "fields"' },
    ]);
    expect(check(leaf(5, '=', 5)).map((e) => e.path)).toEqual(['c.left']);
  });

  it('reports an operator that does not fit the left type', () => {
    const cases: [Condition, string][] = [
      [
        leaf('note', '>', 'a'),
        'operator ">" does not apply to field "note" (string); use one of =, !=, contains, not_contain, is',
      ],
      [leaf('urgent', '<', true), 'operator "<" does not apply to field "urgent" (boolean); use one of =, !=, is'],
      [
        leaf('requester', 'contains', 'e'),
        'operator "contains" does not apply to field "requester" (employee (id string)); use one of =, !=, is',
      ],
      [
        leaf('items', '=', 'x'),
        'operator "=" does not apply to field "items" (array); use one of contains, not_contain, is',
      ],
      [
        leaf('amount', 'contains', 1),
        'operator "contains" does not apply to field "amount" (number); use one of =, !=, <, <=, >, >=, is',
      ],
    ];
    for (const [cond, message] of cases) expect(check(cond)).toEqual([{ path: 'c.op', message }]);
    expect(check({ left: 'amount', op: '~', right: 1 })[0]?.path).toBe('c.op');
  });

  it('reports a right side whose type does not fit', () => {
    expect(check(leaf('amount', '>', '10'))).toEqual([
      { path: 'c.right', message: 'the right side is a string, which does not fit ">" on field "amount" (a number)' },
    ]);
    expect(check(leaf('note', '=', 3))[0]?.path).toBe('c.right');
    expect(check(leaf('urgent', '=', 'true'))[0]?.path).toBe('c.right');
    expect(check(leaf('note', 'contains', { field: 'amount' }))[0]?.path).toBe('c.right');
    expect(check(leaf('tags', 'contains', null))[0]?.message).toContain('needs a value on the right, not null');
    expect(check(leaf('amount', '<', null))[0]?.message).toContain('use "is null"');
    expect(check(leaf('amount', '=', { fn: 'contains', args: ['note', 'x'] }))[0]?.path).toBe('c.right');
  });

  it('requires a parseable ISO date against a date field', () => {
    expect(check(leaf('due', '<', 'next week'))).toEqual([
      {
        path: 'c.right',
        message: '"next week" is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM])',
      },
    ]);
    expect(check(leaf('due', '=', '2024-02-30'))[0]?.message).toContain('is not an ISO 8601 date');
    expect(check(leaf('due', '>', 20240101))[0]?.path).toBe('c.right');
  });

  it('reports "is" with a bad right side or true/false on a non-boolean', () => {
    expect(check(leaf('note', 'is', 'x'))).toEqual([
      { path: 'c.right', message: 'operator "is" needs null, true or false on the right' },
    ]);
    expect(check(leaf('amount', 'is', true))[0]?.message).toBe(
      '"is true" needs a boolean, but field "amount" is a number; use "is null" to test for a missing value',
    );
  });

  it('reports every problem with its path inside groups', () => {
    const cond = { and: [leaf('amount', '>', 1), { or: [leaf('ghost', '=', 1), leaf('note', '<', 'a')] }, { or: [] }] };
    expect(check(cond).map((e) => e.path)).toEqual(['c.and[1].or[0].left', 'c.and[1].or[1].op', 'c.and[2].or']);
    expect(check({ left: 'amount', op: '=' })).toEqual([
      { path: 'c.right', message: 'expected a field name, a literal, {"field": ...} or {"fn": ..., "args": [...]}' },
    ]);
    expect(runError({ left: 'amount', op: '=' } as unknown as Condition).message).toContain(
      'needs "left", "op" and "right"',
    );
    expect(check({ left: 'amount' })).toEqual([
      { path: 'c', message: 'expected a condition: {"left", "op", "right"}, {"and": [...]} or {"or": [...]}' },
    ]);
  });

  it('refuses nesting deeper than 32 levels', () => {
    expect(check(nest(32))).toEqual([]);
    const errors = check(nest(33));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe('conditions nest deeper than 32 levels');
    expect(errors[0]?.path).toBe(`c${'.and[0]'.repeat(32)}`);
  });

  it('checks max/min arity and argument kinds', () => {
    expect(check(leaf({ fn: 'max', args: [] }, '>', 1))).toEqual([
      { path: 'c.left.args', message: 'max needs at least one argument' },
    ]);
    const errors = check(leaf({ fn: 'min', args: ['note', true, null, { field: 'ghost' }, 3] }, '>', 1));
    expect(errors.map((e) => e.path)).toEqual([
      'c.left.args[0]',
      'c.left.args[1]',
      'c.left.args[2]',
      'c.left.args[3].field',
    ]);
    expect(errors[0]?.message).toBe('min takes numbers; this argument is a string');
  });

  it('checks sumItemIf arguments and the structure of its item condition', () => {
    const sum = (...args: unknown[]) => leaf({ fn: 'sumItemIf', args } as Operand, '>', 1);
    expect(check(sum('items', 'total'))[0]).toEqual({
      path: 'c.left.args',
      message: 'sumItemIf takes 3 arguments: an array field, an item field name and a condition on the item',
    });
    expect(check(sum('note', 'total', leaf('a', '=', 1)))[0]).toEqual({
      path: 'c.left.args[0]',
      message: 'sumItemIf sums over an array field, but "note" is a string',
    });
    expect(check(sum(5, 'total', leaf('a', '=', 1)))[0]?.path).toBe('c.left.args[0]');
    expect(check(sum('items', '', leaf('a', '=', 1)))[0]?.path).toBe('c.left.args[1]');
    expect(check(sum('items', 'total', 'category')).map((e) => e.path)).toEqual(['c.left.args[2]']);
    const badItem = sum('items', 'total', {
      and: [{ left: 'a', op: '~', right: 1 }, leaf('b', 'is', 'x'), leaf('c', '<', 'soon'), leaf('anything', '=', 1)],
    });
    expect(check(badItem).map((e) => e.path)).toEqual([
      'c.left.args[2].and[0].op',
      'c.left.args[2].and[1].right',
      'c.left.args[2].and[2].right',
    ]);
  });

  it('checks the contains function', () => {
    const fn = (...args: unknown[]) => leaf({ fn: 'contains', args } as Operand, 'is', true);
    expect(check(fn('tags'))[0]?.path).toBe('c.left.args');
    expect(check(fn('amount', 1))[0]).toEqual({
      path: 'c.left.args[0]',
      message: 'contains looks inside a string or an array, not a number',
    });
    expect(check(fn('note', 1))[0]?.path).toBe('c.left.args[1]');
    expect(check(fn('note', 'x'))).toEqual([]);
  });

  it('refuses a condition used as a value and an unknown function', () => {
    expect(check(leaf('amount', '=', leaf('amount', '=', 1) as Operand))[0]?.message).toContain(
      'a condition cannot be used as a value',
    );
    expect(check(leaf({ fn: 'avg', args: [] } as unknown as Operand, '>', 1))[0]?.path).toBe('c.left.fn');
  });
});
