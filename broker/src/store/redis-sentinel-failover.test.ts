/**
 * A Sentinel failover under a live store: the replica is promoted, the old master demoted, and
 * the store goes on reading what it wrote before and writing to the new master, without a restart.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedisSentinel, type RedisSentinelHandle } from '../../../test/support/redis-cluster.js';
import { createRedisSentinelStore } from './redis.js';

const prefix = `t:${randomBytes(6).toString('hex')}:`;
let sentinel: RedisSentinelHandle;

beforeAll(async () => {
  sentinel = await startRedisSentinel({ replica: true });
}, 60_000);
afterAll(async () => {
  await sentinel?.stop();
});

describe('redis sentinel store across a failover', () => {
  it('keeps what it wrote before the failover and writes to the promoted replica after it', async () => {
    const store = createRedisSentinelStore({ sentinels: sentinel.sentinels, name: sentinel.name, keyPrefix: prefix });
    const promoted = new Redis(sentinel.replicaUrl!);
    try {
      await store.write([{ op: 'set', key: 'journey:{a}', value: 'before', ttlSeconds: 600 }]);
      // Replication is asynchronous: wait until the replica has it, as a synchronous-enough
      // production setup (min-replicas-to-write, WAIT) would make sure of.
      await expect.poll(() => promoted.get(`${prefix}journey:{a}`), { timeout: 5_000 }).toBe('before');

      await sentinel.failover();

      // The first commands after the switch may fail while the client finds the new master;
      // within a few seconds the same store reads and writes again.
      await expect
        .poll(
          async () => {
            try {
              await store.write([{ op: 'set', key: 'journey:{b}', value: 'after', ttlSeconds: 600 }]);
              return await store.get('journey:{a}');
            } catch (error) {
              return `error: ${(error as Error).message}`;
            }
          },
          { timeout: 20_000, interval: 250 },
        )
        .toBe('before');
      expect(await promoted.get(`${prefix}journey:{b}`)).toBe('after');
      await expect(store.ping()).resolves.toBeUndefined();
    } finally {
      promoted.disconnect();
      await store.close();
    }
  }, 60_000);
});
