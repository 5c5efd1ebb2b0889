/**
 * The broker's store: Redis when `redisUrl` is given, otherwise in memory (one process).
 * See ./types.ts for the contract both implementations pass (./store-contract.ts).
 */
import { createMemoryStore } from './memory.js';
import { createRedisStore } from './redis.js';
import type { Store, StoreOptions } from './types.js';

export type { Store, StoreLogger, StoreOptions, WriteOp } from './types.js';
export { StoreError } from './types.js';
export { createMemoryStore } from './memory.js';
export { createRedisStore } from './redis.js';
export { createOidcAdapter, type OidcAdapterOptions } from './oidc-adapter.js';

export function createStore(options: StoreOptions = {}): Store {
  if (options.redisUrl) {
    return createRedisStore({ redisUrl: options.redisUrl, keyPrefix: options.keyPrefix, logger: options.logger });
  }
  return createMemoryStore({ now: options.now });
}
