import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisRateLimitStore } from '../../src/gateway/rate-limit/redis-rate-limit-store.ts';
import { rateLimitStoreContract } from './rate-limit-store.contract.ts';

const REDIS_URL = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// The shared server: a prefix of this run's own, and only its keys are deleted afterwards.
const PREFIX = `bflow-test-rlc-${randomBytes(6).toString('hex')}`;

rateLimitStoreContract('redis', {
  create: () => RedisRateLimitStore.create({ url: REDIS_URL, prefix: PREFIX }),
  cleanup: async () => {
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      for await (const keys of admin.scanStream({ match: `${PREFIX}:*`, count: 500 })) {
        if ((keys as string[]).length > 0) await admin.del(...(keys as string[]));
      }
    } finally {
      admin.disconnect();
    }
  },
  shared: true,
});
