import type { Logger } from 'pino';
import type { TraceScope } from '../shared/trace-scope.ts';

/** The authenticated caller, from the verified JWT (docs/api.md#authentication). */
export interface Principal {
  /** `sub`: the employee id. */
  employee: string;
  /** `tid`: every query is scoped to it. */
  tenant: string;
  roles: ReadonlySet<Role>;
  /** `cid`, when the token names a company. */
  companyId?: string;
}

export const ROLES = ['admin', 'designer', 'integration', 'member'] as const;
export type Role = (typeof ROLES)[number];

/** Hono `Env` of the gateway: what middleware puts on the context for the handlers. */
export interface GatewayEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    /** The request's trace scope: calls made in it are recorded in its trace (outsideTrace when untraced). */
    inTrace: TraceScope;
    principal: Principal;
  };
}
