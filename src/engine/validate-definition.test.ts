import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { WorkflowDefinitionInput } from './definition-schema.ts';
import type { EngineErrorDetail } from './errors.ts';
import { validateDefinition } from './validate-definition.ts';

// nodes: 0 start, 1 manager, 2 finance, 3 approved
// associations: 0 start→manager, 1 manager→finance (amount ≥ 1000), 2 manager→approved (else), 3 finance→approved
const BASE: WorkflowDefinitionInput = {
  app: 'test.app',
  name: 'Test workflow',
  fields: { amount: 'number', requester: 'employee', note: 'string' },
  zones: [{ id: 'pricing', title: 'Pricing', fields: ['amount'] }],
  nodes: [
    { id: 'start', kind: 'initial', title: 'Start' },
    {
      id: 'manager',
      kind: 'task',
      title: 'Manager',
      actions: ['approve', 'reject', 'return'],
      collaborators: { type: 'in_workflow', members: [{ position: 'manager_1' }] },
    },
    {
      id: 'finance',
      kind: 'task',
      title: 'Finance',
      actions: ['approve', 'reject'],
      collaborators: { type: 'in_form', field: 'requester' },
    },
    { id: 'approved', kind: 'approved', title: 'Approved' },
  ],
  associations: [
    { from: 'start', to: 'manager' },
    { from: 'manager', to: 'finance', condition: { left: 'amount', op: '>=', right: 1000 } },
    { from: 'manager', to: 'approved', else: true },
    { from: 'finance', to: 'approved' },
  ],
};

type Def = WorkflowDefinitionInput;
type Raw = Record<string, unknown>;

function variant(mutate: (def: Def) => void): Def {
  const def = structuredClone(BASE);
  mutate(def);
  return def;
}

function errorsOf(input: unknown): EngineErrorDetail[] {
  const result = validateDefinition(input);
  if (result.ok) throw new Error('expected the definition to be invalid');
  return result.errors;
}

function expectError(mutate: (def: Def) => void, path: string, fragment: string): void {
  expect(errorsOf(variant(mutate))).toContainEqual({ path, message: expect.stringContaining(fragment) });
}

const node = (def: Def, i: number) => def.nodes[i]!;
const assoc = (def: Def, i: number) => def.associations![i]!;

describe('validateDefinition - accepts', () => {
  it('validateDefinition - the base definition, returning it parsed with defaults', () => {
    const result = validateDefinition(variant(() => {}));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.definition.nodes).toHaveLength(4);
  });

  const examples = readdirSync(new URL('../../examples/', import.meta.url)).filter((f) => f.endsWith('.json'));
  it.each(examples)('validateDefinition - examples/%s', (file) => {
    const input: unknown = JSON.parse(readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8'));
    const result = validateDefinition(input);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it.each(['manager_2', 'upper_manager', 'group_level:0', 'group_level:99'])(
    'validateDefinition - position %s',
    (position) => {
      expect(
        validateDefinition(
          variant((d) => {
            node(d, 1).collaborators = { type: 'in_workflow', members: [{ position }] };
          }),
        ).ok,
      ).toBe(true);
    },
  );

  it('validateDefinition - an exit count above the members when a group may add more assignees', () => {
    expect(
      validateDefinition(
        variant((d) => {
          node(d, 1).collaborators = { type: 'in_workflow', members: [{ employee: 'e-1' }, { group: 'g-1' }] };
          node(d, 1).exit = { approve: 5 };
        }),
      ).ok,
    ).toBe(true);
  });
});

describe('validateDefinition - shape (zod)', () => {
  it('validateDefinition - a non-object root is reported at path ""', () => {
    expect(errorsOf([])).toContainEqual({ path: '', message: expect.any(String) });
  });

  it('validateDefinition - a bad exit count names nodes[i].exit.action', () => {
    expectError(
      (d) => {
        node(d, 1).exit = { approve: 'most' as never };
      },
      'nodes[1].exit.approve',
      '"all"',
    );
  });

  it('validateDefinition - an unknown key is reported at the key', () => {
    expectError(
      (d) => {
        (node(d, 1) as Raw)['colour'] = 'red';
      },
      'nodes[1].colour',
      'unknown key',
    );
  });

  it('validateDefinition - a missing required key says it is required', () => {
    expectError(
      (d) => {
        delete (node(d, 0) as Raw)['title'];
      },
      'nodes[0].title',
      'required',
    );
  });

  it('validateDefinition - a bad operator inside a condition names the op', () => {
    expectError(
      (d) => {
        assoc(d, 1).condition = { left: 'amount', op: '~' as never, right: 1 };
      },
      'associations[1].condition.op',
      'expected one of',
    );
  });

  it('validateDefinition - an unknown collaborators type names the type', () => {
    expectError(
      (d) => {
        node(d, 1).collaborators = { type: 'someone' } as never;
      },
      'nodes[1].collaborators.type',
      'in_form',
    );
  });
});

describe('validateDefinition - nodes and graph', () => {
  it('validateDefinition - no initial node', () => {
    expectError(
      (d) => {
        node(d, 0).kind = 'task';
      },
      'nodes',
      'no initial node',
    );
  });

  it('validateDefinition - a second initial node is reported at its kind', () => {
    expectError(
      (d) => {
        node(d, 2).kind = 'initial';
      },
      'nodes[2].kind',
      'keep exactly one',
    );
  });

  it('validateDefinition - duplicate node ids', () => {
    expectError(
      (d) => {
        node(d, 2).id = 'manager';
      },
      'nodes[2].id',
      'duplicate node id "manager"',
    );
  });

  it('validateDefinition - duplicate zone ids', () => {
    expectError(
      (d) => {
        d.zones!.push({ id: 'pricing', title: 'Again', fields: ['note'] });
      },
      'zones[1].id',
      'duplicate zone id',
    );
  });

  it('validateDefinition - no terminal node', () => {
    expectError(
      (d) => {
        d.nodes.pop();
      },
      'nodes',
      'no terminal node',
    );
  });

  it('validateDefinition - an association to an unknown node', () => {
    expectError(
      (d) => {
        assoc(d, 3).to = 'ceo';
      },
      'associations[3].to',
      'no node with id "ceo"',
    );
  });

  it('validateDefinition - an association from an unknown node', () => {
    expectError(
      (d) => {
        d.associations!.push({ from: 'ghost', to: 'approved' });
      },
      'associations[4].from',
      'no node with id "ghost"',
    );
  });

  it('validateDefinition - an association out of a terminal node', () => {
    expectError(
      (d) => {
        d.associations!.push({ from: 'approved', to: 'finance' });
      },
      'associations[4].from',
      'terminal',
    );
  });

  it('validateDefinition - two else branches from one node', () => {
    expectError(
      (d) => {
        d.associations!.push({ from: 'manager', to: 'finance', else: true });
      },
      'associations[4].else',
      'second else branch',
    );
  });

  it('validateDefinition - an else branch with a condition', () => {
    expectError(
      (d) => {
        assoc(d, 2).condition = { left: 'amount', op: '<', right: 5 };
      },
      'associations[2].condition',
      'cannot have a condition',
    );
  });

  it('validateDefinition - branches after an unconditional one can never be taken', () => {
    expectError(
      (d) => {
        delete assoc(d, 1).condition;
      },
      'associations[2]',
      'never taken: associations[1]',
    );
  });

  it('validateDefinition - a node not reachable from the initial node', () => {
    expectError(
      (d) => {
        d.nodes.splice(3, 0, {
          id: 'orphan',
          kind: 'task',
          title: 'Orphan',
          actions: ['approve'],
          collaborators: { type: 'out_form' },
        });
        d.associations!.push({ from: 'orphan', to: 'approved' });
      },
      'nodes[3]',
      'cannot be reached from the initial node "start"',
    );
  });

  it('validateDefinition - a node from which no terminal node can be reached', () => {
    expectError(
      (d) => {
        assoc(d, 2).to = 'finance';
        assoc(d, 3).to = 'manager';
      },
      'nodes[2]',
      'no approved/completed node can be reached from "finance"',
    );
  });

  it('validateDefinition - a task with outgoing associations but no approve/complete', () => {
    expectError(
      (d) => {
        node(d, 2).actions = ['reject', 'return'];
      },
      'nodes[2].actions',
      'add "approve" or "complete"',
    );
  });

  it('validateDefinition - a task that can be approved but has no outgoing association', () => {
    expectError(
      (d) => {
        d.associations!.pop();
      },
      'nodes[2]',
      'no association leaves it',
    );
  });

  it('validateDefinition - all outgoing associations conditional and no else', () => {
    expectError(
      (d) => {
        assoc(d, 2).condition = { left: 'amount', op: '<', right: 1000 };
        delete assoc(d, 2).else;
      },
      'nodes[1]',
      'when none of the conditions of associations[1], [2] hold the runtime has no way out',
    );
  });

  it('validateDefinition - conditions are type-checked at associations[i].condition', () => {
    const errors = errorsOf(
      variant((d) => {
        assoc(d, 1).condition = { left: 'undeclared', op: '=', right: 1 };
      }),
    );
    expect(errors.some((e) => e.path.startsWith('associations[1].condition'))).toBe(true);
  });
});

describe('validateDefinition - fields and zones', () => {
  it('validateDefinition - a field name that is not an identifier', () => {
    expectError(
      (d) => {
        d.fields = { ...d.fields, 'unit-price': 'number' };
      },
      'fields["unit-price"]',
      'letters, digits and _',
    );
  });

  it('validateDefinition - reserved field names, including a __proto__ key from JSON', () => {
    const raw = JSON.parse(
      JSON.stringify(BASE).replace('"fields":{', '"fields":{"__proto__":"string","constructor":"number",'),
    ) as unknown;
    const errors = errorsOf(raw);
    expect(errors).toContainEqual({ path: 'fields.__proto__', message: expect.stringContaining('reserved') });
    expect(errors).toContainEqual({ path: 'fields.constructor', message: expect.stringContaining('reserved') });
  });

  it('validateDefinition - beneficiary not declared', () => {
    expectError(
      (d) => {
        d.beneficiary = 'owner';
      },
      'beneficiary',
      'not a declared field',
    );
  });

  it('validateDefinition - beneficiary not an employee field', () => {
    expectError(
      (d) => {
        d.beneficiary = 'note';
      },
      'beneficiary',
      'declared as string',
    );
  });

  it('validateDefinition - a zone naming an undeclared field', () => {
    expectError(
      (d) => {
        d.zones![0]!.fields.push('discount');
      },
      'zones[0].fields[1]',
      '"discount" is not a declared field',
    );
  });

  it('validateDefinition - a node zone naming an undeclared zone', () => {
    expectError(
      (d) => {
        node(d, 1).zones = { editable: ['notes'], hidden: [] };
      },
      'nodes[1].zones.editable[0]',
      'no zone with id "notes"',
    );
  });

  it('validateDefinition - a zone both editable and hidden on one node', () => {
    expectError(
      (d) => {
        node(d, 1).zones = { editable: ['pricing'], hidden: ['pricing'] };
      },
      'nodes[1].zones.hidden[0]',
      'not both',
    );
  });
});

describe('validateDefinition - collaborators and SLA', () => {
  it('validateDefinition - a task node without collaborators', () => {
    expectError(
      (d) => {
        delete node(d, 1).collaborators;
      },
      'nodes[1].collaborators',
      'needs collaborators',
    );
  });

  it('validateDefinition - collaborators on the initial node', () => {
    expectError(
      (d) => {
        node(d, 0).collaborators = { type: 'out_form' };
      },
      'nodes[0].collaborators',
      'remove "collaborators"',
    );
  });

  it('validateDefinition - collaborators on a terminal node', () => {
    expectError(
      (d) => {
        node(d, 3).collaborators = { type: 'out_form' };
      },
      'nodes[3].collaborators',
      'terminal',
    );
  });

  it('validateDefinition - in_form naming a field that is not an employee', () => {
    expectError(
      (d) => {
        node(d, 2).collaborators = { type: 'in_form', field: 'amount' };
      },
      'nodes[2].collaborators.field',
      'declared as number',
    );
  });

  it.each(['manager_3', 'group_level:100', 'group_level:x', 'group_level:-1', 'group_level:01', 'ceo'])(
    'validateDefinition - an unknown position %s',
    (position) => {
      expectError(
        (d) => {
          node(d, 1).collaborators = { type: 'in_workflow', members: [{ position }] };
        },
        'nodes[1].collaborators.members[0].position',
        'group_level:N',
      );
    },
  );

  it('validateDefinition - an unknown escalation position', () => {
    expectError(
      (d) => {
        node(d, 1).sla = { due: 'PT4H', escalateTo: { position: 'boss' } };
      },
      'nodes[1].sla.escalateTo.position',
      'unknown position',
    );
  });

  it('validateDefinition - an SLA on a non-task node', () => {
    expectError(
      (d) => {
        node(d, 0).sla = { due: 'PT4H' };
      },
      'nodes[0].sla',
      'task nodes only',
    );
  });
});

describe('validateDefinition - actions and exits', () => {
  it('validateDefinition - a task node with no actions', () => {
    expectError(
      (d) => {
        node(d, 1).actions = [];
      },
      'nodes[1].actions',
      'at least one action',
    );
  });

  it('validateDefinition - an unknown action', () => {
    expectError(
      (d) => {
        node(d, 1).actions = ['approve', 'sign'];
      },
      'nodes[1].actions[1]',
      'unknown action "sign"',
    );
  });

  it('validateDefinition - a duplicate action', () => {
    expectError(
      (d) => {
        node(d, 1).actions!.push('approve');
      },
      'nodes[1].actions[3]',
      'listed twice',
    );
  });

  it('validateDefinition - actions on the initial node', () => {
    expectError(
      (d) => {
        node(d, 0).actions = ['approve'];
      },
      'nodes[0].actions',
      'remove "actions"',
    );
  });

  it('validateDefinition - actions on a terminal node', () => {
    expectError(
      (d) => {
        node(d, 3).actions = ['complete'];
      },
      'nodes[3].actions',
      'remove "actions"',
    );
  });

  it('validateDefinition - an exit rule for an action the node does not have', () => {
    expectError(
      (d) => {
        node(d, 1).exit = { complete: 1 };
      },
      'nodes[1].exit.complete',
      "not among this node's actions",
    );
  });

  it.each([0, -2])('validateDefinition - exit count %i', (count) => {
    expectError(
      (d) => {
        node(d, 1).exit = { approve: count };
      },
      'nodes[1].exit.approve',
      'positive integer',
    );
  });

  it('validateDefinition - an exit count above the distinct fixed employees', () => {
    expectError(
      (d) => {
        node(d, 1).collaborators = {
          type: 'in_workflow',
          members: [{ employee: 'e-1' }, { employee: 'e-2' }, { employee: 'e-1' }],
        };
        node(d, 1).exit = { approve: 3 };
      },
      'nodes[1].exit.approve',
      'only 2 distinct employee',
    );
  });

  it('validateDefinition - an unknown action in actionNames', () => {
    expectError(
      (d) => {
        d.actionNames = { approve: 'Duyệt', aprove: 'Typo' };
      },
      'actionNames.aprove',
      'unknown action "aprove"',
    );
  });
});

describe('validateDefinition - reporting', () => {
  it('validateDefinition - reports every error, not just the first', () => {
    const errors = errorsOf(
      variant((d) => {
        assoc(d, 3).to = 'ceo';
        node(d, 1).actions!.push('sign');
        d.beneficiary = 'nobody';
      }),
    );
    expect(errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(['associations[3].to', 'nodes[1].actions[3]', 'beneficiary']),
    );
  });
});
