/**
 * Checks the audit trail's hash chain in Redis.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 [REDIS_KEY_PREFIX=idb:] npm run audit:verify
 *   (or REDIS_CLUSTER_NODES / REDIS_SENTINELS + REDIS_SENTINEL_NAME, as the broker)
 *
 * Prints `audit: OK, N events` and exits 0, or the first broken link and exits 1
 * (2 when it cannot check at all: no REDIS_URL, Redis unreachable).
 */
import { createAuditTrail } from '../src/audit/index.js';
import { createStore, storeOptionsFromEnv } from '../src/store/index.js';

async function main(): Promise<number> {
  let options;
  try {
    options = storeOptionsFromEnv(process.env);
  } catch (error) {
    console.error(`audit: ${(error as Error).message}`);
    return 2;
  }
  if (!options.redisUrl && !options.redisCluster && !options.redisSentinel) {
    console.error('audit: set REDIS_URL (for example REDIS_URL=redis://127.0.0.1:6379), REDIS_CLUSTER_NODES or REDIS_SENTINELS to the broker\'s Redis');
    return 2;
  }
  const store = createStore(options);
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
