import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedisSentinel, type RedisSentinelHandle } from '../../../test/support/redis-cluster.js';
import { createStore, storeOptionsFromEnv } from './index.js';
import { createRedisSentinelStore } from './redis.js';
import { describeStoreContract } from './store-contract.js';

const filePrefix = `t:${randomBytes(6).toString('hex')}:`;
let n = 0;
let sentinel: RedisSentinelHandle;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
});
afterAll(async () => {
  await sentinel?.stop();
});

describeStoreContract('redis sentinel', async () => {
  const store = createRedisSentinelStore({ sentinels: sentinel.sentinels, name: sentinel.name, keyPrefix: `${filePrefix}${n++}:` });
  return { store, tick: () => new Promise((r) => setTimeout(r, 100)), close: () => store.close() };
});

describe('redis sentinel store', () => {
  it('is what createStore gives from REDIS_SENTINELS and REDIS_SENTINEL_NAME, and writes to the master the Sentinel names', async () => {
    const prefix = `${filePrefix}env:`;
    const options = storeOptionsFromEnv({ REDIS_SENTINELS: sentinel.sentinels.join(','), REDIS_SENTINEL_NAME: sentinel.name, REDIS_KEY_PREFIX: prefix });
    expect(options).toEqual({ keyPrefix: prefix, redisSentinel: { sentinels: sentinel.sentinels, name: sentinel.name } });
    const store = createStore(options);
    const master = new Redis(sentinel.masterUrl);
    try {
      expect(store.kind).toBe('redis');
      await store.write([{ op: 'set', key: 'k', value: 'via-sentinel', ttlSeconds: 60 }]);
      expect(await master.get(`${prefix}k`)).toBe('via-sentinel');
    } finally {
      master.disconnect();
      await store.close();
    }
  });

  it('fails (does not hang) when the Sentinel does not know the master name', async () => {
    const store = createRedisSentinelStore({ sentinels: sentinel.sentinels, name: 'no-such-master', keyPrefix: `${filePrefix}x:`, commandTimeoutMs: 1_000 });
    try {
      await expect(store.ping()).rejects.toThrow();
    } finally {
      await store.close();
    }
  });

  it('refuses malformed options with a clear error', () => {
    expect(() => createRedisSentinelStore({ sentinels: ['nohost'], name: 'm' })).toThrow(/"nohost" is not host:port/);
    expect(() => createRedisSentinelStore({ sentinels: [], name: 'm' })).toThrow(/at least one/);
    expect(() => createRedisSentinelStore({ sentinels: sentinel.sentinels, name: '' })).toThrow(/name/);
  });
});
