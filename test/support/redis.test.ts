import { describe, expect, it, inject } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis } from './redis.js';

describe('test harness: redis-server', () => {
  it('the shared server answers', async () => {
    const client = new Redis(inject('redisUrl'), { lazyConnect: true });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('keeps data across a restart with append-only persistence on', async () => {
    const server = await startRedis({ appendOnly: true });
    try {
      const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      await client.connect();
      await client.set('harness:kept', 'yes');
      await server.restart();
      await client.ping().catch(() => undefined);
      expect(await client.get('harness:kept')).toBe('yes');
      client.disconnect();
    } finally {
      await server.destroy();
    }
  });

  it('loses data across a restart without persistence', async () => {
    const server = await startRedis();
    try {
      const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      await client.connect();
      await client.set('harness:kept', 'yes');
      await server.restart();
      await client.ping().catch(() => undefined);
      expect(await client.get('harness:kept')).toBeNull();
      client.disconnect();
    } finally {
      await server.destroy();
    }
  });
});
