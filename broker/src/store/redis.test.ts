import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis } from '../../../test/support/redis.js';
import { createStore } from './index.js';
import { createRedisStore } from './redis.js';
import { describeStoreContract } from './store-contract.js';

const url = inject('redisUrl');
const filePrefix = `t:${randomBytes(6).toString('hex')}:`;
let n = 0;

describeStoreContract('redis', async () => {
  const store = createRedisStore({ redisUrl: url, keyPrefix: `${filePrefix}${n++}:` });
  return { store, tick: () => new Promise((r) => setTimeout(r, 100)), close: () => store.close() };
});

describe('redis store', () => {
  it('is what createStore gives with a Redis URL, and prefixes every key', async () => {
    const prefix = `${filePrefix}p:`;
    const store = createStore({ redisUrl: url, keyPrefix: prefix });
    const raw = new Redis(url);
    try {
      expect(store.kind).toBe('redis');
      await store.write([
        { op: 'set', key: 'x', value: '1', ttlSeconds: 60 },
        { op: 'sadd', key: 'y', member: 'm', ttlSeconds: 60 },
      ]);
      expect((await raw.keys(`${prefix}*`)).sort()).toEqual([`${prefix}x`, `${prefix}y`]);
      const pttl = await raw.pttl(`${prefix}y`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(60_000);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('dump sees only its own prefix, even when the prefix holds glob characters', async () => {
    const a = createRedisStore({ redisUrl: url, keyPrefix: `${filePrefix}[a]*:` });
    const b = createRedisStore({ redisUrl: url, keyPrefix: `${filePrefix}ab:` });
    try {
      await a.set('k', 'from-a', 60);
      await b.set('k', 'from-b', 60);
      const seen: string[] = [];
      for await (const e of a.dump()) seen.push(`${e.key}=${e.value}`);
      expect(seen).toEqual(['k=from-a']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('write is one MULTI/EXEC: another client never sees half of it', async () => {
    const prefix = `${filePrefix}multi:`;
    const store = createRedisStore({ redisUrl: url, keyPrefix: prefix });
    const monitor = new Redis(url);
    const commands: string[] = [];
    try {
      const m = await monitor.monitor();
      m.on('monitor', (_time: string, args: string[]) => {
        if (args.some((a) => String(a).startsWith(prefix)) || ['multi', 'exec'].includes(String(args[0]).toLowerCase())) {
          commands.push(String(args[0]).toLowerCase());
        }
      });
      await store.write([
        { op: 'set', key: 'a', value: '1', ttlSeconds: 60 },
        { op: 'set', key: 'b', value: '2', ttlSeconds: 60 },
      ]);
      await store.set('done', '1', 60);
      for (let i = 0; i < 100 && !commands.includes('exec'); i++) await new Promise((r) => setTimeout(r, 20));
      const start = commands.indexOf('multi');
      expect(start).toBeGreaterThanOrEqual(0);
      expect(commands.slice(start, start + 4)).toEqual(['multi', 'set', 'set', 'exec']);
      m.disconnect();
    } finally {
      monitor.disconnect();
      await store.close();
    }
  });

  it('counts its round trips (a MULTI once) and its commands as Redis counts them', async () => {
    const server = await startRedis();
    const store = createRedisStore({ redisUrl: server.url, keyPrefix: 'count:' });
    const raw = new Redis(server.url);
    const calls = async () => {
      const info = await raw.info('commandstats');
      return [...info.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+)/gm)].filter((m) => !['info', 'config|resetstat', 'config'].includes(m[1]!)).reduce((n, m) => n + Number(m[2]), 0);
    };
    try {
      await store.ping();
      await raw.config('RESETSTAT');
      const before = store.stats!();
      await store.get('a'); // 1 trip, 1 command
      await store.getMany(['a', 'b']); // 1, 1
      await store.set('a', '1', 60); // 1, 1
      await store.write([{ op: 'set', key: 'b', value: '2', ttlSeconds: 60 }]); // 1, 1 (no MULTI)
      await store.write([
        { op: 'set', key: 'c', value: '3', ttlSeconds: 60 },
        { op: 'sadd', key: 's', member: 'm', ttlSeconds: 60 },
        { op: 'del', key: 'a' },
      ]); // 1, MULTI + SET + SADD + 2 PEXPIRE + DEL + EXEC = 7
      await store.take('b'); // 1, 1
      await store.increment('n', 60); // 1, 4
      await store.members('s'); // 1, 1
      await store.del('c', 's'); // 1, 1
      await store.setIfAbsent('d', '1', 60); // 1, 1
      const after = store.stats!();
      expect(after.roundTrips - before.roundTrips).toBe(10);
      expect(after.commands - before.commands).toBe(19);
      expect(await calls()).toBe(19);
    } finally {
      raw.disconnect();
      await store.close();
      await server.destroy();
    }
  });

  it('fails requests (does not hang) while Redis is down, and recovers when it is back', async () => {
    const server = await startRedis();
    const store = createRedisStore({ redisUrl: server.url, keyPrefix: 'down:' });
    try {
      await store.set('k', 'v', 60);
      await server.stop();
      await expect(store.get('k')).rejects.toThrow();
      await expect(store.ping()).rejects.toThrow();
      await expect(store.write([{ op: 'set', key: 'k2', value: 'v', ttlSeconds: 60 }])).rejects.toThrow();
      await server.restart();
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await store.ping().then(() => true, () => false);
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      expect(up).toBe(true);
      await store.set('k3', 'back', 60);
      expect(await store.get('k3')).toBe('back');
    } finally {
      await store.close();
      await server.destroy();
    }
  });
});
