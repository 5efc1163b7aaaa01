/** Branded identifier types: a RuntimeId can't be passed where a TenantId is expected. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type TenantId = Brand<string, 'TenantId'>;
export type RuntimeId = Brand<string, 'RuntimeId'>;
export type EmployeeId = string;
export type GroupId = string;
export type NodeId = string;

export const tenantId = (id: string): TenantId => id as TenantId;
export const runtimeId = (id: string): RuntimeId => id as RuntimeId;
