/**
 * Redis store: one ioredis client, every key prefixed. A dead Redis fails requests after a
 * couple of reconnection attempts instead of hanging, so journeys fail closed and quickly.
 * `write` and `increment` are one MULTI/EXEC round trip each.
 */
import { Redis, type ChainableCommander } from 'ioredis';
import { checkKey, checkOps, StoreError, ttlMs, type Store, type StoreLogger, type WriteOp } from './types.js';

export interface RedisStoreOptions {
  redisUrl: string;
  keyPrefix?: string;
  logger?: StoreLogger;
  /** Reconnection attempts a queued request waits for before failing. Default 2. */
  maxRetriesPerRequest?: number;
  /** A request to a live but unresponsive Redis fails after this many ms. Default 5000. */
  commandTimeoutMs?: number;
}

type ExecResult = [error: Error | null, result: unknown][] | null;

function checkExec(result: ExecResult, what: string): unknown[] {
  if (!result) throw new StoreError(`${what}: transaction aborted`);
  const failed = result.find(([error]) => error);
  if (failed?.[0]) throw new StoreError(`${what}: ${failed[0].message}`);
  return result.map(([, value]) => value);
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export function createRedisStore(options: RedisStoreOptions): Store & { readonly client: Redis } {
  const prefix = options.keyPrefix ?? 'idb:';
  const k = (key: string) => {
    checkKey(key);
    return prefix + key;
  };
  const client = new Redis(options.redisUrl, {
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    connectTimeout: 5_000,
    // Back off up to 500 ms between reconnection attempts, never giving up (the instance stays
    // up and reports itself unready through ping() while Redis is away). With
    // maxRetriesPerRequest 2, a request to a dead Redis fails within about a second.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 4), 500),
  });
  // Without a listener ioredis prints every connection error. Report them (throttled), never values.
  let lastReport = 0;
  client.on('error', (error: Error) => {
    const t = Date.now();
    if (t - lastReport < 10_000) return;
    lastReport = t;
    options.logger?.warn({ err: { message: error.message, code: (error as { code?: string }).code } }, 'redis store: connection error');
  });

  function queue(multi: ChainableCommander, op: WriteOp): void {
    const key = k(op.key);
    switch (op.op) {
      case 'set':
        multi.set(key, op.value, 'PX', ttlMs(op.ttlSeconds));
        return;
      case 'del':
        multi.del(key);
        return;
      case 'sadd': {
        const ms = ttlMs(op.ttlSeconds);
        // Extend, never shorten: NX sets a TTL on a new set, GT lengthens an existing one.
        multi.sadd(key, op.member).pexpire(key, ms, 'NX').pexpire(key, ms, 'GT');
        return;
      }
      case 'expire':
        multi.pexpire(key, ttlMs(op.ttlSeconds));
        return;
    }
  }

  return {
    kind: 'redis',
    client,
    async get(key) {
      return client.get(k(key));
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      return client.mget(keys.map(k));
    },
    async set(key, value, ttlSeconds) {
      checkOps([{ op: 'set', key, value, ttlSeconds }]);
      await client.set(k(key), value, 'PX', ttlMs(ttlSeconds));
    },
    async setIfAbsent(key, value, ttlSeconds) {
      checkOps([{ op: 'set', key, value, ttlSeconds }]);
      return (await client.set(k(key), value, 'PX', ttlMs(ttlSeconds), 'NX')) === 'OK';
    },
    async take(key) {
      return client.getdel(k(key));
    },
    async del(...keys) {
      if (keys.length === 0) return;
      await client.del(...keys.map(k));
    },
    async write(ops) {
      checkOps(ops);
      if (ops.length === 0) return;
      const multi = client.multi();
      for (const op of ops) queue(multi, op);
      checkExec(await multi.exec(), 'write');
    },
    async members(key) {
      return client.smembers(k(key));
    },
    async increment(key, windowSeconds) {
      const ms = ttlMs(windowSeconds, 'windowSeconds');
      const full = k(key);
      const [count] = checkExec(await client.multi().incr(full).pexpire(full, ms, 'NX').exec(), 'increment');
      return Number(count);
    },
    async ping() {
      const answer = await client.ping();
      if (answer !== 'PONG') throw new StoreError(`redis store: unexpected ping answer ${answer}`);
    },
    async *dump() {
      const stream = client.scanStream({ match: `${globEscape(prefix)}*`, count: 500 });
      for await (const batch of stream as AsyncIterable<string[]>) {
        if (batch.length === 0) continue;
        const types = checkExec(await batch.reduce((m, key) => m.type(key), client.pipeline()).exec(), 'dump');
        const reads = client.pipeline();
        batch.forEach((key, i) => {
          switch (types[i]) {
            case 'string': reads.get(key); break;
            case 'set': reads.smembers(key); break;
            case 'hash': reads.hvals(key); break;
            case 'list': reads.lrange(key, 0, -1); break;
            case 'zset': reads.zrange(key, '0', '-1'); break;
            default: reads.type(key); // streams and the rest: the type name, so the key is still listed
          }
        });
        const values = checkExec(await reads.exec(), 'dump');
        for (let i = 0; i < batch.length; i++) {
          const key = batch[i]!.slice(prefix.length);
          const value = values[i];
          if (value === null || value === 'none') continue; // expired between SCAN and read
          if (Array.isArray(value)) for (const v of value) yield { key, value: String(v) };
          else yield { key, value: String(value) };
        }
      }
    },
    async close() {
      if (client.status === 'ready') {
        await client.quit().catch(() => client.disconnect());
      } else {
        client.disconnect();
      }
    },
  };
}
