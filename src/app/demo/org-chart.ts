import type { Employee, Group } from '../../engine/index.ts';

/**
 * The demo tenant's org chart (`npm start`), the same company the tests use
 * (test/fixtures/org-chart.ts). Levels in brackets:
 *
 *   g-root [0] ceo
 *   ├─ g-ops [1] ops-head
 *   │   └─ g-purchasing [2] pur-mgr — alice, bob, pur-mgr
 *   ├─ g-finance [1] fin-head — fin-1, fin-2, fin-3, fin-head, old-fin (inactive)
 *   ├─ g-hr [1] hr-head — hr-1, hr-2
 *   ├─ g-legal [1] (no manager) — lee, lena
 *   │   └─ g-legal-leads [2] ceo — lead-1
 *   └─ g-audit [1] e-auditor-1 — e-auditor-1, e-auditor-2
 * g-treasury [2] (under g-finance) fin-head — treasurer; e-cfo in g-root.
 * ceo and ops-head belong to g-root; hr-head to g-hr; carol (no group).
 */
export const groups: Group[] = [
  { id: 'g-root', name: 'Company', managerId: 'ceo', level: 0 },
  { id: 'g-ops', name: 'Operations', parentId: 'g-root', managerId: 'ops-head', level: 1 },
  { id: 'g-purchasing', name: 'Purchasing', parentId: 'g-ops', managerId: 'pur-mgr', level: 2 },
  { id: 'g-finance', name: 'Finance', parentId: 'g-root', managerId: 'fin-head', level: 1 },
  { id: 'g-hr', name: 'HR', parentId: 'g-root', managerId: 'hr-head', level: 1 },
  { id: 'g-legal', name: 'Legal', parentId: 'g-root', level: 1 },
  { id: 'g-legal-leads', name: 'Legal leads', parentId: 'g-legal', managerId: 'ceo', level: 2 },
  { id: 'g-treasury', name: 'Treasury', parentId: 'g-finance', managerId: 'fin-head', level: 2 },
  { id: 'g-audit', name: 'Internal audit', parentId: 'g-root', managerId: 'e-auditor-1', level: 1 },
];

const person = (id: string, groupId?: string, active = true): Employee => ({
  id,
  name: id.toUpperCase(),
  email: `${id}@example.com`,
  ...(groupId !== undefined && { groupId }),
  active,
});

export const employees: Employee[] = [
  person('ceo', 'g-root'),
  person('ops-head', 'g-root'),
  person('pur-mgr', 'g-purchasing'),
  person('alice', 'g-purchasing'),
  person('bob', 'g-purchasing'),
  person('fin-head', 'g-finance'),
  person('fin-1', 'g-finance'),
  person('fin-2', 'g-finance'),
  person('fin-3', 'g-finance'),
  person('old-fin', 'g-finance', false),
  person('hr-head', 'g-hr'),
  person('hr-1', 'g-hr'),
  person('hr-2', 'g-hr'),
  person('lee', 'g-legal'),
  person('carol'),
  person('lena', 'g-legal'),
  person('lead-1', 'g-legal-leads'),
  person('treasurer', 'g-treasury'),
  person('e-cfo', 'g-root'),
  person('e-auditor-1', 'g-audit'),
  person('e-auditor-2', 'g-audit'),
];
