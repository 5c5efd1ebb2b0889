/**
 * The broker's store: Redis (one node, Sentinel or Cluster) by configuration, otherwise in
 * memory (one process). See ./types.ts for the contract every implementation passes
 * (./store-contract.ts), and ./redis.ts for what a Cluster changes (atomicity per hash slot).
 */
import { createMemoryStore } from './memory.js';
import { createRedisClusterStore, createRedisSentinelStore, createRedisStore, parseHostPort, parseNodeUrl } from './redis.js';
import { StoreError, type Store, type StoreOptions } from './types.js';

export type { Store, StoreLogger, StoreOptions, StoreStats, WriteOp, WriteIfResult } from './types.js';
export { StoreError } from './types.js';
export { createMemoryStore } from './memory.js';
export {
  createRedisStore,
  createRedisSentinelStore,
  createRedisClusterStore,
  type RedisStoreOptions,
  type RedisSentinelStoreOptions,
  type RedisClusterStoreOptions,
} from './redis.js';
export { keySlot, hashTagOf } from './slot.js';
export { createOidcAdapter, type OidcAdapterOptions } from './oidc-adapter.js';

export function createStore(options: StoreOptions = {}): Store {
  const chosen = (['redisUrl', 'redisCluster', 'redisSentinel'] as const).filter((name) => options[name]);
  if (chosen.length > 1) throw new StoreError(`store options: give only one of ${chosen.join(', ')}`);
  const common = { keyPrefix: options.keyPrefix, logger: options.logger };
  if (options.redisCluster) return createRedisClusterStore({ ...common, nodes: options.redisCluster.nodes });
  if (options.redisSentinel) return createRedisSentinelStore({ ...common, ...options.redisSentinel });
  if (options.redisUrl) return createRedisStore({ ...common, redisUrl: options.redisUrl });
  return createMemoryStore({ now: options.now });
}

/** The environment variables `storeOptionsFromEnv` reads. */
export interface StoreEnv {
  REDIS_URL?: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_NAME?: string;
  REDIS_KEY_PREFIX?: string;
  [name: string]: string | undefined;
}

/**
 * Store options from the environment (empty variables count as unset):
 * - `REDIS_URL`: one Redis node, `redis://[user:password@]host:port[/db]` or `rediss://...`;
 * - `REDIS_CLUSTER_NODES`: a Redis Cluster, comma-separated `redis://host:port` (or `host:port`);
 * - `REDIS_SENTINELS` (comma-separated `host:port`) with `REDIS_SENTINEL_NAME` (the master group);
 * - `REDIS_KEY_PREFIX`: prefix of every key (default `idb:`; no braces on a cluster).
 * None of the first three: the in-memory store. More than one, or a malformed value: a
 * StoreError naming the variable.
 */
export function storeOptionsFromEnv(env: StoreEnv = process.env): StoreOptions {
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const list = (name: string) =>
    value(name)!
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  const url = value('REDIS_URL');
  const clusterNodes = value('REDIS_CLUSTER_NODES');
  const sentinels = value('REDIS_SENTINELS');
  const sentinelName = value('REDIS_SENTINEL_NAME');
  const keyPrefix = env.REDIS_KEY_PREFIX === undefined || env.REDIS_KEY_PREFIX === '' ? undefined : env.REDIS_KEY_PREFIX;

  const given = [url && 'REDIS_URL', clusterNodes && 'REDIS_CLUSTER_NODES', sentinels && 'REDIS_SENTINELS'].filter(Boolean);
  if (given.length > 1) throw new StoreError(`${given.join(' and ')}: set only one of them (one Redis node, a Cluster, or Sentinel)`);
  if (sentinelName && !sentinels) throw new StoreError('REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not: list the Sentinels as host:port,host:port');
  if (keyPrefix !== undefined && /\s/.test(keyPrefix)) throw new StoreError(`REDIS_KEY_PREFIX: ${JSON.stringify(keyPrefix)} must not contain spaces`);
  const options: StoreOptions = keyPrefix !== undefined ? { keyPrefix } : {};

  if (url) {
    const parsed = parseNodeUrl(url);
    if (!parsed) throw new StoreError('REDIS_URL: expected redis://[user:password@]host:port (or rediss://), got a value that is not one');
    return { ...options, redisUrl: url };
  }
  if (clusterNodes) {
    const nodes = list('REDIS_CLUSTER_NODES').map((node) => {
      const withScheme = /^rediss?:\/\//.test(node) ? node : `redis://${node}`;
      const parsed = parseNodeUrl(withScheme);
      if (!parsed || (!/^rediss?:\/\//.test(node) && !parseHostPort(node))) {
        throw new StoreError(`REDIS_CLUSTER_NODES: ${JSON.stringify(node.replace(/\/\/[^@/]*@/, '//***@'))} is not redis://host:port`);
      }
      return withScheme;
    });
    if (nodes.length === 0) throw new StoreError('REDIS_CLUSTER_NODES: list at least one node as redis://host:port');
    if (keyPrefix !== undefined && /[{}]/.test(keyPrefix)) {
      throw new StoreError(`REDIS_KEY_PREFIX: ${JSON.stringify(keyPrefix)} must not contain { or } on a Redis Cluster (it would override the keys' hash tags)`);
    }
    return { ...options, redisCluster: { nodes } };
  }
  if (sentinels) {
    const addresses = list('REDIS_SENTINELS');
    for (const address of addresses) {
      if (!parseHostPort(address)) throw new StoreError(`REDIS_SENTINELS: ${JSON.stringify(address)} is not host:port`);
    }
    if (addresses.length === 0) throw new StoreError('REDIS_SENTINELS: list at least one Sentinel as host:port');
    if (!sentinelName) throw new StoreError('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the master group name the Sentinels monitor)');
    return { ...options, redisSentinel: { sentinels: addresses, name: sentinelName } };
  }
  return options;
}
