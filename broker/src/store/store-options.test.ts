import { describe, expect, it } from 'vitest';
import { createStore, storeOptionsFromEnv } from './index.js';

describe('storeOptionsFromEnv', () => {
  it('reads nothing as the in-memory store, and REDIS_URL as one node', async () => {
    expect(storeOptionsFromEnv({})).toEqual({});
    expect(storeOptionsFromEnv({ REDIS_URL: '', REDIS_KEY_PREFIX: '' })).toEqual({});
    expect(storeOptionsFromEnv({ REDIS_URL: 'redis://:pw@10.0.0.5:6380/2', REDIS_KEY_PREFIX: 'idb-prod:' })).toEqual({
      redisUrl: 'redis://:pw@10.0.0.5:6380/2',
      keyPrefix: 'idb-prod:',
    });
    const store = createStore(storeOptionsFromEnv({}));
    expect(store.kind).toBe('memory');
    await store.close();
  });

  it('reads REDIS_CLUSTER_NODES, with or without the redis:// scheme', () => {
    expect(storeOptionsFromEnv({ REDIS_CLUSTER_NODES: ' redis://10.0.0.1:7000, 10.0.0.2:7001 ,rediss://u:p@redis-3.internal:7002' })).toEqual({
      redisCluster: { nodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7001', 'rediss://u:p@redis-3.internal:7002'] },
    });
  });

  it('reads REDIS_SENTINELS with REDIS_SENTINEL_NAME', () => {
    expect(storeOptionsFromEnv({ REDIS_SENTINELS: 's1:26379,10.0.0.9:26380', REDIS_SENTINEL_NAME: 'idb' })).toEqual({
      redisSentinel: { sentinels: ['s1:26379', '10.0.0.9:26380'], name: 'idb' },
    });
  });

  it('names the variable when a value is malformed or missing', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL: expected redis:\/\//],
      [{ REDIS_URL: 'http://x:1' }, /^REDIS_URL:/],
      [{ REDIS_CLUSTER_NODES: 'redis://a:7000,,b' }, /^REDIS_CLUSTER_NODES: "b" is not redis:\/\/host:port/],
      [{ REDIS_CLUSTER_NODES: 'a:99999' }, /^REDIS_CLUSTER_NODES: "a:99999"/],
      [{ REDIS_CLUSTER_NODES: ' , ' }, /^REDIS_CLUSTER_NODES: list at least one/],
      [{ REDIS_CLUSTER_NODES: 'a:7000', REDIS_KEY_PREFIX: '{idb}:' }, /^REDIS_KEY_PREFIX: .* must not contain \{ or \}/],
      [{ REDIS_SENTINELS: 's1:26379' }, /^REDIS_SENTINEL_NAME: required with REDIS_SENTINELS/],
      [{ REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'idb' }, /^REDIS_SENTINELS: "s1" is not host:port/],
      [{ REDIS_SENTINEL_NAME: 'idb' }, /^REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not/],
      [{ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' }, /^REDIS_URL and REDIS_CLUSTER_NODES: set only one/],
      [{ REDIS_KEY_PREFIX: 'a b' }, /^REDIS_KEY_PREFIX: .* must not contain spaces/],
    ];
    for (const [env, message] of cases) expect(() => storeOptionsFromEnv(env), JSON.stringify(env)).toThrow(message);
  });

  it('never echoes a password from a malformed value', () => {
    const messageOf = (env: Record<string, string>) => {
      try {
        storeOptionsFromEnv(env);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`no error for ${Object.keys(env).join(', ')}`);
    };
    const url = messageOf({ REDIS_URL: 'redis//:s3cret@host' });
    expect(url).toMatch(/^REDIS_URL/);
    expect(url).not.toContain('s3cret');
    const nodes = messageOf({ REDIS_CLUSTER_NODES: 'redis://:s3cret@' });
    expect(nodes).toMatch(/^REDIS_CLUSTER_NODES/);
    expect(nodes).not.toContain('s3cret');
  });
});
