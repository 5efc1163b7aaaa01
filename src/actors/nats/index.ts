/** NATS plumbing shared by the concerns: the connection and the tenant change notices that invalidate caches. */
export { connectNats, type NatsConnectOptions } from './connection.ts';
export {
  announceTenantChange,
  onTenantChange,
  type TenantChangeKind,
  tenantChangesSubject,
} from './tenant-change-notices.ts';
export { fromNatsHeaders, type MessageHeaders, toNatsHeaders } from './message-headers.ts';
