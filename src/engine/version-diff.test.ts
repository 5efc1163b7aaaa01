import { describe, expect, it } from 'vitest';
import { loadExample } from '../../test/fixtures/engine-driver.ts';
import { diffVersions } from './version-diff.ts';

describe('engine - structural diff of two versions', () => {
  const v1 = loadExample('purchase-order');

  it('equal versions differ in nothing, whatever the key order', () => {
    const reverse = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverse)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverse(x)]),
            )
          : v;
    const reordered = reverse(v1) as typeof v1;
    expect(diffVersions(v1, reordered)).toEqual({
      nodes: [],
      associations: [],
      conditions: [],
      fields: [],
      zones: [],
      collaborators: [],
      settings: [],
    });
  });

  it('nodes, associations, conditions, fields, zones, collaborators and settings added, removed or changed', () => {
    const v2 = structuredClone(v1);
    v2.name = 'PO v2';
    v2.nodes = v2.nodes.filter((n) => n.id !== 'ceo');
    v2.nodes.push({
      id: 'legal',
      kind: 'task',
      title: 'Legal',
      collaborators: { type: 'in_workflow', members: [{ group: 'g-legal' }] },
    });
    v2.nodes.find((n) => n.id === 'manager')!.collaborators = {
      type: 'in_workflow',
      members: [{ position: 'manager_2' }],
    };
    v2.associations = v2.associations.filter((a) => a.to !== 'ceo' && a.from !== 'ceo');
    v2.associations.find((a) => a.to === 'finance')!.condition = { left: 'amount', op: '>=', right: 1 };
    v2.fields.amount = 'string';
    delete v2.fields.note;
    v2.fields.contract = 'string';
    v2.zones = [{ id: 'pricing', title: 'Pricing', fields: ['amount'] }];
    const d = diffVersions(v1, v2);
    const summary = (entries: { key: string; change: string }[]) => entries.map((e) => `${e.change} ${e.key}`).sort();
    expect(summary(d.nodes)).toEqual(['added legal', 'changed manager', 'removed ceo']);
    expect(summary(d.associations)).toEqual(['changed manager→finance', 'removed ceo→approved', 'removed manager→ceo']);
    expect(summary(d.conditions)).toEqual(['changed manager→finance', 'removed manager→ceo']);
    expect(summary(d.fields)).toEqual(['added contract', 'changed amount', 'removed note']);
    expect(d.fields.find((f) => f.key === 'amount')).toEqual({
      key: 'amount',
      change: 'changed',
      before: 'number',
      after: 'string',
    });
    expect(summary(d.zones)).toEqual(['changed pricing', 'removed notes']);
    expect(summary(d.collaborators)).toEqual(['added legal', 'changed manager', 'removed ceo']);
    expect(summary(d.settings)).toEqual(['changed name']);
  });
});
