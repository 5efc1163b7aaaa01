import type { DevUser } from '../../gateway/gateway-options.ts';
import { signToken } from '../dev-token.ts';
import { DEMO_TENANT } from './demo-seed.ts';

/** Tokens of the console's dev sign-in live this long. */
const DEV_USER_TTL_SEC = 12 * 3600;

/** The demo users the console's dev sign-in offers: one per part a person plays in the demo workflows. */
const DEMO_USERS: readonly Omit<DevUser, 'token'>[] = [
  { sub: 'alice', roles: ['admin', 'designer', 'integration', 'member'], label: 'alice: admin, starts orders' },
  { sub: 'pur-mgr', roles: ['member'], label: "pur-mgr: alice's manager" },
  { sub: 'fin-1', roles: ['member'], label: 'fin-1: finance committee' },
  { sub: 'fin-2', roles: ['member'], label: 'fin-2: finance committee' },
  { sub: 'ceo', roles: ['member'], label: 'ceo: approves the big ones' },
  { sub: 'bob', roles: ['member', 'designer'], label: 'bob: purchasing, designer' },
  { sub: 'hr-head', roles: ['member'], label: 'hr-head: approves leave' },
];

/** The demo users with fresh HS256 tokens of the demo tenant (embedded mode only: the secret is the dev secret). */
export function demoDevUsers(secret: string, now = Date.now()): Promise<DevUser[]> {
  return Promise.all(
    DEMO_USERS.map(async (u) => ({
      ...u,
      token: await signToken(secret, { sub: u.sub, tid: DEMO_TENANT, roles: u.roles }, DEV_USER_TTL_SEC, now),
    })),
  );
}
