/**
 * Checks the audit trail's hash chain in Redis.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 [REDIS_KEY_PREFIX=idb:] tsx broker/scripts/audit-verify.ts
 *
 * Prints `audit: OK, N events` and exits 0, or the first broken link and exits 1
 * (2 when it cannot check at all: no REDIS_URL, Redis unreachable).
 */
import { createAuditTrail } from '../src/audit/index.js';
import { createRedisStore } from '../src/store/redis.js';

async function main(): Promise<number> {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    console.error('audit: set REDIS_URL (for example REDIS_URL=redis://127.0.0.1:6379) to the broker\'s Redis');
    return 2;
  }
  const store = createRedisStore({ redisUrl, keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'idb:' });
  try {
    await store.ping();
    const result = await createAuditTrail({ store }).verify();
    if (result.ok) {
      console.log(`audit: OK, ${result.count} events`);
      return 0;
    }
    console.log(`audit: BROKEN at event ${result.brokenAt}: ${result.reason} (${result.count} events verified before it)`);
    return 1;
  } catch (error) {
    console.error(`audit: could not check the trail: ${(error as Error).message}`);
    return 2;
  } finally {
    await store.close();
  }
}

process.exitCode = await main();
