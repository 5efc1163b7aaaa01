import { describe, expect, it } from 'vitest';
import { EngineDriver, loadExample } from '../../test/fixtures/engine-driver.ts';
import { orgChart } from '../../test/fixtures/org-chart.ts';
import { poDoc } from '../../test/fixtures/purchase-order-doc.ts';
import { compileWorkflow, type CompiledWorkflow } from './compile.ts';
import type { WorkflowDefinition } from './definition-schema.ts';
import { migrate, type MigrateCommand } from './migrate.ts';
import { validateMigration } from './migration-rules.ts';
import { applyStateChange, diffState } from './state-change.ts';
import { step } from './step.ts';

const HOUR = 3_600_000;
const v1def = loadExample('purchase-order');

/** Version 2 of the purchase order: `edit` changes a copy of version 1. */
function v2(edit: (def: WorkflowDefinition) => void = () => {}): CompiledWorkflow {
  const def = structuredClone(v1def);
  edit(def);
  return compileWorkflow(def, 'wf-purchase.order', 2);
}

const node = (def: WorkflowDefinition, id: string) => def.nodes.find((n) => n.id === id)!;

function renameNode(def: WorkflowDefinition, from: string, to: string): void {
  node(def, from).id = to;
  for (const a of def.associations) {
    if (a.from === from) a.from = to;
    if (a.to === from) a.to = to;
  }
}

/** A purchase order submitted by alice: open at `manager` (pur-mgr), SLA 24 h. */
function atManager(amount = 1_000_000): EngineDriver {
  return new EngineDriver(v1def, 'alice', poDoc(amount)).do('alice', 'submit');
}

const cmd = (extra: Partial<MigrateCommand> = {}): MigrateCommand => ({
  type: 'migrate',
  planId: 'plan-1',
  actor: 'admin-1',
  fromVersion: 1,
  toVersion: 2,
  nodeMap: {},
  ...extra,
});

function migrated(d: EngineDriver, to: CompiledWorkflow, extra: Partial<MigrateCommand> = {}) {
  const result = migrate(d.wf, to, d.state, cmd(extra), orgChart, d.now + HOUR);
  if (!result.ok) throw new Error(`blocked: ${result.block} ${result.message}`);
  return result;
}

describe('engine - migrating a runtime', () => {
  it('identity mapping: the runtime moves to version 2 with one migrate log entry and event, its tasks and timers untouched', () => {
    const d = atManager();
    const { state, effects } = migrated(d, v2());
    expect(state.runtime.version).toBe(2);
    expect(state.revision).toBe(d.state.revision + 1);
    expect(state.seq).toBe(d.state.seq + 1);
    expect(state.stages.at(-1)).toEqual(d.state.stages.at(-1));
    expect(effects.log).toEqual([
      expect.objectContaining({ action: 'migrate', fromNode: 'manager', toNode: 'manager', actor: 'admin-1' }),
    ]);
    expect(effects.events.map((e) => [e.type, e.version, e.data])).toEqual([
      [
        'runtime.migrated',
        2,
        { planId: 'plan-1', fromVersion: 1, toVersion: 2, fromNode: 'manager', toNode: 'manager' },
      ],
    ]);
    expect(effects.tasks).toEqual([]);
    expect(effects.timersSet).toEqual([]);
    expect(effects.timersCancelled).toEqual([]);
  });

  it('the migrated state replays from its logged change (log-first) and continues on version 2', () => {
    const d = atManager();
    const to = v2((def) => {
      // Version 2 sends everything from manager to the CEO.
      def.associations = def.associations.filter((a) => a.from !== 'manager');
      def.associations.push({ from: 'manager', to: 'ceo' });
    });
    const { state } = migrated(d, to);
    expect(applyStateChange(d.state, diffState(d.state, state))).toEqual(state);
    const next = step(to, state, { type: 'approve', actor: 'pur-mgr' }, orgChart, d.now + 2 * HOUR);
    expect(next.ok && next.state.stages.at(-1)?.node).toBe('ceo');
  });

  it('a renamed node: the open stage and the mapped history take the new id, task rows follow, return finds the renamed stage', () => {
    const d = new EngineDriver(v1def, 'alice', poDoc(20_000_000)).do('alice', 'submit').do('pur-mgr', 'approve');
    expect(d.node).toBe('finance');
    const to = v2((def) => {
      renameNode(def, 'manager', 'line-manager');
      renameNode(def, 'finance', 'finance-committee');
    });
    const { state, effects } = migrated(d, to, { nodeMap: { manager: 'line-manager', finance: 'finance-committee' } });
    expect(state.stages.map((s) => s.node)).toEqual(['start', 'line-manager', 'finance-committee']);
    expect(effects.tasks.map((t) => [t.node, t.assignee, t.status])).toEqual(
      ['fin-head', 'fin-1', 'fin-2', 'fin-3'].map((a) => ['finance-committee', a, 'open']),
    );
    const back = step(
      to,
      state,
      { type: 'return', actor: 'fin-1', toNode: 'line-manager' },
      orgChart,
      d.now + 2 * HOUR,
    );
    expect(back.ok && back.state.stages.at(-1)?.node).toBe('line-manager');
  });

  it('changed collaborators: tasks of people no longer assigned are skipped, new assignees get open tasks (task.assigned)', () => {
    const d = atManager();
    const to = v2((def) => {
      node(def, 'manager').collaborators = {
        type: 'in_workflow',
        members: [{ employee: 'bob' }, { employee: 'pur-mgr' }, { employee: 'ceo' }],
      };
    });
    const { state, effects } = migrated(d, to);
    const tasks = state.stages.at(-1)!.tasks;
    expect(tasks.map((t) => [t.assignee, t.status])).toEqual([
      ['pur-mgr', 'open'],
      ['bob', 'open'],
      ['ceo', 'open'],
    ]);
    expect(effects.events.filter((e) => e.type === 'task.assigned').map((e) => e.data.assignee)).toEqual([
      'bob',
      'ceo',
    ]);
    const to2 = v2((def) => {
      node(def, 'manager').collaborators = { type: 'in_workflow', members: [{ employee: 'bob' }] };
    });
    const second = migrated(d, to2);
    expect(second.state.stages.at(-1)!.tasks.map((t) => [t.assignee, t.status, t.action])).toEqual([
      ['pur-mgr', 'skipped', 'migrate'],
      ['bob', 'open', undefined],
    ]);
    expect(second.effects.tasks.map((t) => [t.assignee, t.status])).toEqual([
      ['pur-mgr', 'skipped'],
      ['bob', 'open'],
    ]);
  });

  it('nobody to assign under the new collaborators blocks the runtime (no_assignee), nothing changed', () => {
    const d = atManager();
    const to = v2((def) => {
      node(def, 'manager').collaborators = { type: 'in_workflow', members: [{ employee: 'old-fin' }] };
    });
    const result = migrate(d.wf, to, d.state, cmd(), orgChart, d.now);
    expect(result).toMatchObject({ ok: false, block: 'no_assignee' });
  });

  it('SLA recomputed from the stage entry: a longer due time re-arms the due timer; no SLA cancels the timers', () => {
    const d = atManager();
    const entered = d.state.stages.at(-1)!.enteredAt;
    const longer = migrated(
      d,
      v2((def) => {
        node(def, 'manager').sla = { due: 'PT48H' };
      }),
    );
    expect(longer.state.stages.at(-1)!.dueAt).toBe(entered + 48 * HOUR);
    expect(longer.effects.timersSet).toEqual([
      { id: 'rt-1:1:sla', kind: 'sla_due', dueAt: entered + 48 * HOUR, stage: 1 },
    ]);
    expect(longer.effects.timersCancelled).toEqual(['rt-1:1:remind']);
    expect(longer.effects.tasks.every((t) => t.dueAt === entered + 48 * HOUR)).toBe(true);
    const none = migrated(
      d,
      v2((def) => {
        delete node(def, 'manager').sla;
      }),
    );
    expect(none.state.stages.at(-1)!.dueAt).toBeUndefined();
    expect(none.effects.timersCancelled).toEqual(['rt-1:1:sla', 'rt-1:1:remind']);
  });

  it('into an end node only with allowEndNodes: the stage closes (tasks skipped) and the runtime finishes', () => {
    const d = atManager();
    const to = v2();
    expect(migrate(d.wf, to, d.state, cmd({ nodeMap: { manager: 'approved' } }), orgChart, d.now)).toMatchObject({
      ok: false,
      block: 'end_node_not_allowed',
    });
    const { state, effects } = migrated(d, to, { nodeMap: { manager: 'approved' }, allowEndNodes: true });
    expect(state.status).toBe('approved');
    expect(state.stages.map((s) => [s.node, s.status])).toEqual([
      ['start', 'closed'],
      ['manager', 'closed'],
      ['approved', 'closed'],
    ]);
    expect(effects.tasks).toEqual([
      expect.objectContaining({ assignee: 'pur-mgr', status: 'skipped', action: 'migrate' }),
    ]);
    expect(effects.timersCancelled).toEqual(['rt-1:1:sla', 'rt-1:1:remind']);
    expect(effects.events.map((e) => e.type)).toEqual([
      'stage.exited',
      'stage.entered',
      'runtime.finished',
      'runtime.migrated',
    ]);
  });

  it('blocks, each with its reason, and changes nothing: another version, finished, unmapped node, incompatible kind, document that does not fit', () => {
    const d = atManager();
    const before = JSON.stringify(d.state);
    const at = (to: CompiledWorkflow, extra: Partial<MigrateCommand> = {}) =>
      migrate(d.wf, to, d.state, cmd(extra), orgChart, d.now);
    expect(at(v2(), { fromVersion: 3 })).toMatchObject({ block: 'not_on_version' });
    expect(at(compileWorkflow(v1def, 'wf-other', 2))).toMatchObject({ block: 'other_workflow' });
    expect(at(v2((def) => renameNode(def, 'manager', 'boss')))).toMatchObject({ block: 'unmapped_node' });
    expect(at(v2(), { nodeMap: { manager: 'start' } })).toMatchObject({ block: 'incompatible_kind' });
    expect(at(v2((def) => (def.fields.amount = 'string')))).toMatchObject({ block: 'document_invalid' });
    expect(JSON.stringify(d.state)).toBe(before);
    const done = new EngineDriver(v1def, 'alice', poDoc(1000)).do('alice', 'submit').do('pur-mgr', 'approve');
    expect(done.status).toBe('approved');
    expect(migrate(done.wf, v2(), done.state, cmd(), orgChart, done.now)).toMatchObject({ block: 'finished' });
  });
});

describe('engine - migration plan rules (static validation)', () => {
  const from = compileWorkflow(v1def, 'wf-purchase.order', 1);
  const mapping = (nodeMap: Record<string, string>, extra = {}) => ({
    fromVersion: 1,
    toVersion: 2,
    nodeMap,
    ...extra,
  });

  it('a plan whose nodes exist and fit is valid; the identity mapping is implied', () => {
    expect(validateMigration(from, v2(), mapping({}), ['start', 'manager', 'finance'])).toEqual([]);
    expect(validateMigration(from, v2(), mapping({ manager: 'finance' }), ['manager'])).toEqual([]);
  });

  it('names the path of each error: unknown nodes on either side, unmapped occupied nodes, incompatible kinds, end nodes, field types, another workflow', () => {
    const to = v2((def) => {
      renameNode(def, 'finance', 'fin');
      def.fields.amount = 'string';
    });
    const errors = validateMigration(
      from,
      to,
      mapping({ ghost: 'manager', manager: 'nowhere', start: 'ceo', ceo: 'approved', approved: 'approved' }),
      ['finance', 'manager'],
    );
    expect(errors.map((e) => e.path).sort()).toEqual([
      'fields.amount',
      'nodeMap.approved',
      'nodeMap.ceo',
      'nodeMap.finance',
      'nodeMap.ghost',
      'nodeMap.manager',
      'nodeMap.start',
    ]);
    expect(errors.find((e) => e.path === 'nodeMap.ghost')?.message).toMatch(/version 1 has no node "ghost"/);
    expect(errors.find((e) => e.path === 'nodeMap.manager')?.message).toMatch(/version 2 has no node "nowhere"/);
    expect(errors.find((e) => e.path === 'nodeMap.start')?.message).toMatch(/initial node.*task node/);
    expect(errors.find((e) => e.path === 'nodeMap.ceo')?.message).toMatch(/allowEndNodes/);
    expect(errors.find((e) => e.path === 'nodeMap.finance')?.message).toMatch(/runtimes are open at "finance"/);
    expect(validateMigration(from, v2(), mapping({ ceo: 'approved' }, { allowEndNodes: true }), [])).toEqual([]);
    const other = compileWorkflow(v1def, 'wf-other', 2);
    expect(validateMigration(from, other, mapping({}), []).map((e) => e.path)).toEqual(['toVersion']);
  });
});
