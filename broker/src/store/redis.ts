/**
 * Redis store on one node, on a Sentinel-managed master, or on a Redis Cluster. Every key is
 * prefixed. A dead Redis fails requests after a couple of reconnection attempts instead of
 * hanging, so journeys fail closed and quickly.
 *
 * Single node and Sentinel: `write` and `increment` are one MULTI/EXEC round trip each, so a
 * `write` is all or nothing (as far as Redis transactions go).
 *
 * Cluster: a MULTI may only touch keys of one hash slot. `write` groups its operations by slot
 * and sends one MULTI per slot, all in parallel: atomicity (and the order of operations) then
 * holds PER SLOT only. Keys that must change together share a hash tag (`journey:{uid}`,
 * `delivery:{grantId}`); the prefix is outside the braces, so the tag still decides the slot
 * (a prefix with braces is refused in cluster mode). When one slot's MULTI fails, the others
 * may still have applied; `write` then rejects. Callers that need an order across slots write
 * in steps (the oidc adapter writes its indexes before the record; the audit trail moves its
 * anchor before deleting). `getMany` and `del` are grouped by slot too (one MGET or DEL per
 * slot, in parallel), and `dump` scans every master.
 */
import { Cluster, Redis, type ChainableCommander, type ClusterNode, type RedisOptions } from 'ioredis';
import { groupBySlot, keySlot } from './slot.js';
import { checkKey, checkOps, StoreError, ttlMs, type Store, type StoreLogger, type WriteOp } from './types.js';

interface CommonOptions {
  keyPrefix?: string;
  logger?: StoreLogger;
  /** Reconnection attempts a queued request waits for before failing. Default 2. */
  maxRetriesPerRequest?: number;
  /** A request to a live but unresponsive Redis fails after this many ms. Default 5000. */
  commandTimeoutMs?: number;
}

export interface RedisStoreOptions extends CommonOptions {
  redisUrl: string;
}

export interface RedisSentinelStoreOptions extends CommonOptions {
  /** Sentinel addresses, `host:port`. */
  sentinels: string[];
  /** The master group name the Sentinels monitor. */
  name: string;
  /** Password (and user) of the Redis master, if any. */
  username?: string;
  password?: string;
  /** Password of the Sentinels themselves, if any. */
  sentinelPassword?: string;
}

export interface RedisClusterStoreOptions extends CommonOptions {
  /** Some (or all) cluster nodes, `redis://[user:password@]host:port` or `rediss://...`; the rest are discovered. */
  nodes: string[];
}

/**
 * `writeIf` on the server: compare the guard key (KEYS[1]) with ARGV[2] (ARGV[1] '0': it must
 * be absent), then apply each op (KEYS[i], four ARGV each: kind, when, value, ms) whose `when`
 * is 'a' (always), or 'g' when the guard held. sadd extends the set's TTL, never shortens it.
 */
const WRITE_IF_LUA = `
local current = redis.call('GET', KEYS[1])
local ok
if ARGV[1] == '0' then ok = (current == false) else ok = (current == ARGV[2]) end
for i = 2, #KEYS do
  local b = 3 + (i - 2) * 4
  local kind, when, value, ms = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  if ok or when == 'a' then
    local key = KEYS[i]
    if kind == 's' then
      redis.call('SET', key, value, 'PX', ms)
    elseif kind == 'd' then
      redis.call('DEL', key)
    elseif kind == 'a' then
      redis.call('SADD', key, value)
      if redis.call('PTTL', key) < tonumber(ms) then redis.call('PEXPIRE', key, ms) end
    elseif kind == 'e' then
      redis.call('PEXPIRE', key, ms)
    end
  end
end
if ok then return {1, current} end
return {0, current}
`;

type WriteIfCommand = (numKeys: number, ...args: string[]) => Promise<[number, string | null | undefined]>;

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

/** `host:port` (IPv6 in brackets allowed) -> { host, port }, or undefined when malformed. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (match[1] ?? match[2])!, port };
}

/** `redis://[user:password@]host:port` -> its parts, or undefined when malformed. */
export function parseNodeUrl(text: string): { host: string; port: number; username?: string; password?: string; tls: boolean } | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || !url.hostname) return undefined;
  const port = url.port ? Number(url.port) : 6379;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    tls: url.protocol === 'rediss:',
  };
}

function connectionOptions(options: CommonOptions) {
  return {
    enableAutoPipelining: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    connectTimeout: 5_000,
  };
}

// Back off up to 500 ms between reconnection attempts, never giving up (the instance stays
// up and reports itself unready through ping() while Redis is away). With
// maxRetriesPerRequest 2, a request to a dead Redis fails within about a second.
const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 4), 500);

export function createRedisStore(options: RedisStoreOptions): Store & { readonly client: Redis } {
  const client = new Redis(options.redisUrl, {
    lazyConnect: false,
    enableOfflineQueue: true,
    ...connectionOptions(options),
    retryStrategy,
  });
  return buildStore(client, options, false);
}

export function createRedisSentinelStore(options: RedisSentinelStoreOptions): Store & { readonly client: Redis } {
  if (!Array.isArray(options.sentinels) || options.sentinels.length === 0) throw new StoreError('redis sentinel store: sentinels must list at least one host:port');
  if (typeof options.name !== 'string' || options.name.length === 0) throw new StoreError('redis sentinel store: name (the master group name) is required');
  const sentinels = options.sentinels.map((s) => {
    const parsed = parseHostPort(s);
    if (!parsed) throw new StoreError(`redis sentinel store: ${JSON.stringify(s)} is not host:port`);
    return parsed;
  });
  const redisOptions: RedisOptions = {
    sentinels,
    name: options.name,
    lazyConnect: false,
    enableOfflineQueue: true,
    ...connectionOptions(options),
    retryStrategy,
    sentinelRetryStrategy: retryStrategy,
    // Follow a failover at once: listen for the Sentinels' +switch-master and reconnect to the new
    // master, and treat a READONLY answer (we reached a demoted master) as a reason to reconnect
    // and resend, so no write lands on a node that is about to become a replica.
    failoverDetector: true,
    reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
    ...(options.sentinelPassword ? { sentinelPassword: options.sentinelPassword } : {}),
  };
  return buildStore(new Redis(redisOptions), options, false);
}

export function createRedisClusterStore(options: RedisClusterStoreOptions): Store & { readonly client: Cluster } {
  if (!Array.isArray(options.nodes) || options.nodes.length === 0) throw new StoreError('redis cluster store: nodes must list at least one redis://host:port');
  const parsed = options.nodes.map((n) => {
    const node = parseNodeUrl(n);
    if (!node) throw new StoreError(`redis cluster store: ${JSON.stringify(n)} is not a redis://host:port address`);
    return node;
  });
  const prefix = options.keyPrefix ?? 'idb:';
  if (/[{}]/.test(prefix)) {
    throw new StoreError(`redis cluster store: the key prefix ${JSON.stringify(prefix)} must not contain { or } (it would override the keys' hash tags)`);
  }
  const first = parsed[0]!;
  const startupNodes: ClusterNode[] = parsed.map(({ host, port }) => ({ host, port }));
  // ioredis's Cluster has no maxRetriesPerRequest for its offline queue: while no node answers,
  // requests would wait forever. Like the single-node store, fail the queued requests after a
  // couple of reconnection attempts (and keep reconnecting), so journeys fail closed quickly.
  const maxRetries = options.maxRetriesPerRequest ?? 2;
  let self: Cluster | undefined;
  const clusterRetryStrategy = (times: number) => {
    if (times > maxRetries) {
      const flush = (self as unknown as { flushQueue?: (error: Error) => void } | undefined)?.flushQueue;
      flush?.call(self, new StoreError('redis cluster store: no cluster node reachable'));
    }
    return retryStrategy(times);
  };
  const client = new Cluster(startupNodes, {
    lazyConnect: false,
    enableOfflineQueue: true,
    clusterRetryStrategy,
    slotsRefreshTimeout: 2_000,
    redisOptions: {
      ...connectionOptions(options),
      ...(first.username ? { username: first.username } : {}),
      ...(first.password ? { password: first.password } : {}),
      ...(first.tls ? { tls: {} } : {}),
    },
  });
  self = client;
  return buildStore(client, options, true);
}

function buildStore<C extends Redis | Cluster>(client: C, options: CommonOptions, cluster: boolean): Store & { readonly client: C } {
  const prefix = options.keyPrefix ?? 'idb:';
  const k = (key: string) => {
    checkKey(key);
    return prefix + key;
  };
  // Without a listener ioredis prints every connection error. Report them (throttled), never values.
  let lastReport = 0;
  const report = (error: Error) => {
    const t = Date.now();
    if (t - lastReport < 10_000) return;
    lastReport = t;
    options.logger?.warn({ err: { message: error.message, code: (error as { code?: string }).code } }, 'redis store: connection error');
  };
  client.on('error', report);
  if (cluster) client.on('node error', report);
  // ioredis sends EVALSHA, and EVAL once when a node does not know the script yet.
  client.defineCommand('idbWriteIf', { lua: WRITE_IF_LUA });
  const writeIfScript = (client as unknown as { idbWriteIf: WriteIfCommand }).idbWriteIf.bind(client);

  /** The script's KEYS and ARGV for one op. */
  function scriptArgs(op: WriteOp, when: 'g' | 'a'): { key: string; args: string[] } {
    const key = k(op.key);
    switch (op.op) {
      case 'set':
        return { key, args: ['s', when, op.value, String(ttlMs(op.ttlSeconds))] };
      case 'del':
        return { key, args: ['d', when, '', '0'] };
      case 'sadd':
        return { key, args: ['a', when, op.member, String(ttlMs(op.ttlSeconds))] };
      case 'expire':
        return { key, args: ['e', when, '', String(ttlMs(op.ttlSeconds))] };
    }
  }

  // Client-side counts (see Store.stats): one round trip per request sent and awaited.
  const stats = { roundTrips: 0, commands: 0 };
  const sent = (commands: number, roundTrips = 1) => {
    stats.roundTrips += roundTrips;
    stats.commands += commands;
  };
  /** Commands a queued write op sends (see queue). */
  const commandsOf = (op: WriteOp) => (op.op === 'sadd' ? 3 : 1);

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

  /** Run one job per group in parallel; when any fails, wait for all, then reject with the first failure. */
  async function perGroup<T, R>(groups: T[][], job: (group: T[]) => Promise<R>, note = ''): Promise<R[]> {
    if (groups.length === 1) return [await job(groups[0]!)];
    const settled = await Promise.allSettled(groups.map(job));
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed.length > 0) {
      const reason = failed[0]!.reason as Error;
      throw new StoreError(`${reason.message} (${failed.length} of ${groups.length} slots failed${note})`);
    }
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  }

  async function writeOps(ops: WriteOp[]): Promise<void> {
    if (ops.length === 0) return;
    const groups = cluster ? groupBySlot(ops, (op) => k(op.key)) : [ops];
    await perGroup(groups, async (group) => {
      // One SET or DEL is atomic on its own: no MULTI/EXEC around it (two commands fewer).
      const only = group.length === 1 ? group[0]! : undefined;
      sent(only?.op === 'set' || only?.op === 'del' ? 1 : 2 + group.reduce((n, op) => n + commandsOf(op), 0));
      if (only?.op === 'set') return void (await client.set(k(only.key), only.value, 'PX', ttlMs(only.ttlSeconds)));
      if (only?.op === 'del') return void (await client.del(k(only.key)));
      const multi = client.multi();
      for (const op of group) queue(multi, op);
      checkExec(await multi.exec(), 'write');
    }, '; the other slots may have been written');
  }


  /** Masters to scan or ping: every cluster master, or the one node. */
  async function masters(): Promise<Redis[]> {
    if (!cluster) return [client as Redis];
    const c = client as Cluster;
    if (c.status !== 'ready') await c.ping(); // waits for the slot map (or fails)
    const nodes = c.nodes('master');
    if (nodes.length === 0) throw new StoreError('redis cluster store: no master node known');
    return nodes;
  }

  async function* dumpNode(node: Redis): AsyncIterable<{ key: string; value: string }> {
    const stream = node.scanStream({ match: `${globEscape(prefix)}*`, count: 500 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      if (batch.length === 0) continue;
      // Pipelines (not transactions) of single-key commands to the node that holds the keys.
      const types = checkExec(await batch.reduce((m, key) => m.type(key), node.pipeline()).exec(), 'dump');
      const reads = node.pipeline();
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
  }

  return {
    kind: 'redis',
    cluster,
    client,
    stats: () => ({ ...stats }),
    async get(key) {
      const full = k(key);
      sent(1);
      return client.get(full);
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      const full = keys.map(k);
      if (!cluster) {
        sent(1);
        return client.mget(full);
      }
      // One MGET per slot, in parallel; answers put back in the caller's order.
      const result: (string | null)[] = new Array<string | null>(full.length).fill(null);
      const indexed = full.map((key, i) => ({ key, i }));
      await perGroup(groupBySlot(indexed, (e) => e.key), async (group) => {
        sent(1);
        const values = await client.mget(group.map((e) => e.key));
        group.forEach((e, j) => (result[e.i] = values[j] ?? null));
      });
      return result;
    },
    async set(key, value, ttlSeconds) {
      checkOps([{ op: 'set', key, value, ttlSeconds }]);
      sent(1);
      await client.set(k(key), value, 'PX', ttlMs(ttlSeconds));
    },
    async setIfAbsent(key, value, ttlSeconds) {
      checkOps([{ op: 'set', key, value, ttlSeconds }]);
      sent(1);
      return (await client.set(k(key), value, 'PX', ttlMs(ttlSeconds), 'NX')) === 'OK';
    },
    async take(key) {
      const full = k(key);
      sent(1);
      return client.getdel(full);
    },
    async del(...keys) {
      if (keys.length === 0) return;
      const full = keys.map(k);
      if (!cluster) {
        sent(1);
        await client.del(...full);
        return;
      }
      await perGroup(groupBySlot(full, (key) => key), (group) => {
        sent(1);
        return client.del(...group);
      });
    },
    async write(ops) {
      checkOps(ops);
      await writeOps(ops);
    },
    async writeIf(guard, ops, always = []) {
      checkKey(guard.key);
      checkOps(ops);
      checkOps(always);
      const guardKey = k(guard.key);
      const slot = cluster ? keySlot(guardKey) : undefined;
      if (slot !== undefined) {
        const stray = ops.find((op) => keySlot(k(op.key)) !== slot);
        if (stray) throw new StoreError(`writeIf: ${stray.key} is not in the hash slot of ${guard.key}; give them one hash tag`);
      }
      const inScript = slot === undefined ? always : always.filter((op) => keySlot(k(op.key)) === slot);
      const elsewhere = slot === undefined ? [] : always.filter((op) => keySlot(k(op.key)) !== slot);
      const parts = [...ops.map((op) => scriptArgs(op, 'g')), ...inScript.map((op) => scriptArgs(op, 'a'))];
      sent(1);
      const run = writeIfScript(1 + parts.length, guardKey, ...parts.map((p) => p.key), guard.equals === null ? '0' : '1', guard.equals ?? '', ...parts.flatMap((p) => p.args));
      const [answer] = await Promise.all([run, writeOps(elsewhere)]);
      return { written: Number(answer[0]) === 1, current: answer[1] ?? null };
    },
    async members(key) {
      const full = k(key);
      sent(1);
      return client.smembers(full);
    },
    async increment(key, windowSeconds) {
      const ms = ttlMs(windowSeconds, 'windowSeconds');
      const full = k(key);
      sent(4);
      const [count] = checkExec(await client.multi().incr(full).pexpire(full, ms, 'NX').exec(), 'increment');
      return Number(count);
    },
    async ping() {
      // On a cluster every master must answer: a journey may touch any slot.
      const nodes = await masters();
      sent(nodes.length, nodes.length);
      const answers = await Promise.all(nodes.map((node) => node.ping()));
      const bad = answers.find((a) => a !== 'PONG');
      if (bad !== undefined) throw new StoreError(`redis store: unexpected ping answer ${bad}`);
    },
    async *dump() {
      for (const node of await masters()) yield* dumpNode(node);
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
