/**
 * Read everything a Redis deployment holds, as an operator with store access would: every key
 * on every node (one node, or each master of a Cluster), with its value(s) and its TTL.
 *
 *   const scan = storeScanner(['redis://127.0.0.1:6379']);
 *   for (const { key, values, ttlMs } of await scan.all('idb:')) ...
 *   await scan.del('idb:rl:');   // remove keys by prefix (each on the node that holds it)
 *   await scan.close();
 */
import { Redis } from 'ioredis';

export interface ScannedKey {
  /** The key as stored (with the deployment's prefix). */
  key: string;
  /** Strings: the value; sets and lists: the members; hashes: fields and values. */
  values: string[];
  /** PTTL: milliseconds left, -1 without expiry. */
  ttlMs: number;
}

export interface StoreScanner {
  all(prefix?: string): Promise<ScannedKey[]>;
  del(prefix: string): Promise<number>;
  close(): Promise<void>;
}

export function storeScanner(nodes: string[]): StoreScanner {
  const clients = nodes.map((url) => new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 }));
  async function keysOn(client: Redis, match: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', match, 'COUNT', 500);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
    return out;
  }
  const glob = (prefix: string) => `${prefix.replace(/([*?[\]\\])/g, '\\$1')}*`;
  return {
    async all(prefix = '') {
      const found: ScannedKey[] = [];
      for (const client of clients) {
        for (const key of await keysOn(client, glob(prefix))) {
          const type = await client.type(key);
          const values =
            type === 'string'
              ? [(await client.get(key)) ?? '']
              : type === 'set'
                ? await client.smembers(key)
                : type === 'list'
                  ? await client.lrange(key, 0, -1)
                  : type === 'hash'
                    ? Object.entries(await client.hgetall(key)).flat()
                    : type === 'zset'
                      ? await client.zrange(key, '0', '-1')
                      : [];
          if (type === 'none') continue; // expired between SCAN and TYPE
          found.push({ key, values, ttlMs: await client.pttl(key) });
        }
      }
      return found;
    },
    async del(prefix) {
      let n = 0;
      for (const client of clients) {
        const keys = await keysOn(client, glob(prefix));
        for (const key of keys) n += await client.del(key);
      }
      return n;
    },
    async close() {
      for (const c of clients) c.disconnect();
    },
  };
}
