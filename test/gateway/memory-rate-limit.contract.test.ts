import { MemoryRateLimitStore } from '../../src/gateway/rate-limit/memory-rate-limit-store.ts';
import { rateLimitStoreContract } from './rate-limit-store.contract.ts';

rateLimitStoreContract('memory', {
  create: async () => new MemoryRateLimitStore(),
  cleanup: async () => undefined,
  shared: false,
});
