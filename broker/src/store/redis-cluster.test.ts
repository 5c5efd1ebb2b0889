import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { freePort } from '../../../test/support/ports.js';
import { startRedis, type RedisServer } from '../../../test/support/redis.js';
import { startRedisCluster, type RedisClusterHandle } from '../../../test/support/redis-cluster.js';
import { describeAuditTrailContract } from '../audit/audit-contract.js';
import { AUDIT_KEYS } from '../audit/index.js';
import { createStore } from './index.js';
import { describeOidcAdapterContract } from './oidc-adapter-contract.js';
import { createRedisClusterStore } from './redis.js';
import { keySlot } from './slot.js';
import { describeStoreContract } from './store-contract.js';

const filePrefix = `t:${randomBytes(6).toString('hex')}:`;
let n = 0;
let cluster: RedisClusterHandle;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
});
afterAll(async () => {
  await cluster?.stop();
});

describeStoreContract('redis cluster', async () => {
  const store = createRedisClusterStore({ nodes: cluster.nodes, keyPrefix: `${filePrefix}${n++}:` });
  return { store, tick: () => new Promise((r) => setTimeout(r, 100)), close: () => store.close() };
});

describeOidcAdapterContract('redis cluster', () => {
  const store = createRedisClusterStore({ nodes: cluster.nodes, keyPrefix: `${filePrefix}${n++}:` });
  return { store, now: Date.now, tick: () => new Promise((r) => setTimeout(r, 100)), close: () => store.close() };
});

describeAuditTrailContract(
  'redis cluster',
  () => {
    const prefix = `${filePrefix}${n++}:`;
    return {
      store: createRedisClusterStore({ nodes: cluster.nodes, keyPrefix: prefix }),
      second: () => createRedisClusterStore({ nodes: [...cluster.nodes].reverse(), keyPrefix: prefix }),
    };
  },
  { twoInstances: true },
);

/** The node (port) that serves a key, asked from the cluster itself. */
async function slotOwners(raw: Redis): Promise<Map<number, number>> {
  const owners = new Map<number, number>();
  const slots = (await raw.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]]][];
  for (const [from, to, [, port]] of slots) for (let s = from; s <= to; s++) owners.set(s, port);
  return owners;
}

describe('redis cluster store', () => {
  it('computes the slot of a key exactly as Redis does (hash tags included)', async () => {
    const raw = new Redis(cluster.nodes[0]!);
    try {
      const keys = ['a', 'journey:{abc}', 'idb:journey:{abc}', 'x{}y', '{}{z}', 'a{b}c{d}', 'Zoë Ñandú 🎉', 'foo{', 'audit:event:42', ''];
      for (const key of keys) expect(keySlot(key)).toBe(await raw.call('CLUSTER', 'KEYSLOT', key));
      expect(keySlot('idb:journey:{abc}')).toBe(keySlot('other:delivery:{abc}'));
    } finally {
      raw.disconnect();
    }
  });

  it('is what createStore gives with redisCluster; keys spread over every master', async () => {
    const prefix = `${filePrefix}spread:`;
    const store = createStore({ redisCluster: { nodes: [cluster.nodes[1]!] }, keyPrefix: prefix });
    const raw = new Redis(cluster.nodes[0]!);
    try {
      expect(store.kind).toBe('redis');
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      await store.write(keys.map((key) => ({ op: 'set' as const, key, value: `v-${key}`, ttlSeconds: 60 })));
      const owners = await slotOwners(raw);
      const used = new Set(keys.map((key) => owners.get(keySlot(prefix + key))));
      expect(used.size).toBe(3);
      expect(await store.getMany(['k0', 'nope', ...keys.slice(1)])).toEqual(['v-k0', null, ...keys.slice(1).map((k) => `v-${k}`)]);
      // dump walks every master
      const seen: string[] = [];
      for await (const e of store.dump()) seen.push(`${e.key}=${e.value}`);
      expect(seen.sort()).toEqual(keys.map((k) => `${k}=v-${k}`).sort());
      await store.del(...keys);
      expect((await store.getMany(keys)).every((v) => v === null)).toBe(true);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('write across slots succeeds (no CROSSSLOT): one MULTI per slot, the hash-tagged keys together', async () => {
    const prefix = `${filePrefix}cross:`;
    const store = createRedisClusterStore({ nodes: cluster.nodes, keyPrefix: prefix });
    const raw = new Redis(cluster.nodes[0]!);
    try {
      const ops = [
        { op: 'set' as const, key: 'journey:{u1}', value: 'j', ttlSeconds: 60 },
        { op: 'set' as const, key: 'upstream-state:{s1}', value: 'u1', ttlSeconds: 60 },
        { op: 'set' as const, key: 'delivery:{g1}', value: 'claims', ttlSeconds: 60 },
        { op: 'sadd' as const, key: 'index:{u1}', member: 'm', ttlSeconds: 60 },
        { op: 'del' as const, key: 'stale:{s1}' },
      ];
      const slots = new Set(ops.map((o) => keySlot(prefix + o.key)));
      expect(slots.size).toBe(3); // the test really spans slots
      // Two keys of different slots on the SAME node: Redis still refuses them in one MULTI.
      const owners = await slotOwners(raw);
      const port0 = Number(new URL(cluster.nodes[0]!).port);
      const local = Array.from({ length: 200 }, (_, i) => `local:{${i}}`).filter((key) => owners.get(keySlot(prefix + key)) === port0).slice(0, 2);
      expect(local).toHaveLength(2);
      await expect(raw.multi().set(prefix + local[0]!, '1').set(prefix + local[1]!, '2').exec()).rejects.toThrow(/EXECABORT|CROSSSLOT/);
      await store.write([
        ...ops,
        ...local.map((key) => ({ op: 'set' as const, key, value: key, ttlSeconds: 60 })),
      ]);
      expect(await store.getMany(local)).toEqual(local);
      expect(await store.getMany(['journey:{u1}', 'upstream-state:{s1}', 'delivery:{g1}'])).toEqual(['j', 'u1', 'claims']);
      expect(await store.members('index:{u1}')).toEqual(['m']);
      // the prefix stays outside the braces: the tag decides the slot
      expect(keySlot(`${prefix}journey:{u1}`)).toBe(keySlot(`${prefix}index:{u1}`));
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('writeIf: one script in the guard key\'s slot; guarded writes elsewhere refused; always-writes in other slots written alongside', async () => {
    const store = createRedisClusterStore({ nodes: cluster.nodes, keyPrefix: `${filePrefix}writeif:` });
    try {
      await expect(store.writeIf({ key: 'c:{a}:head', equals: null }, [{ op: 'set', key: 'c:{b}:x', value: '1', ttlSeconds: 60 }])).rejects.toThrow(/c:\{b\}:x is not in the hash slot of c:\{a\}:head/);
      const always = Array.from({ length: 6 }, (_, i) => ({ op: 'sadd' as const, key: `index:${i}`, member: 'm', ttlSeconds: 60 }));
      expect(new Set(always.map((o) => keySlot(`${filePrefix}writeif:${o.key}`))).size).toBeGreaterThan(1);
      expect(await store.writeIf({ key: 'c:{a}:head', equals: null }, [{ op: 'set', key: 'c:{a}:head', value: '1', ttlSeconds: 60 }, { op: 'set', key: 'c:{a}:e1', value: 'e', ttlSeconds: 60 }], always)).toEqual({ written: true, current: null });
      expect(await store.writeIf({ key: 'c:{a}:head', equals: null }, [{ op: 'set', key: 'c:{a}:e1', value: 'lost', ttlSeconds: 60 }], [{ op: 'sadd', key: 'index:0', member: 'n', ttlSeconds: 60 }])).toEqual({ written: false, current: '1' });
      expect(await store.get('c:{a}:e1')).toBe('e');
      for (const o of always) expect((await store.members(o.key)).sort()).toEqual(o.key === 'index:0' ? ['m', 'n'] : ['m']);
    } finally {
      await store.close();
    }
  });

  it('audit chains of four instances lie in different hash slots: appends do not queue on one slot', () => {
    const chains = ['broker-0', 'broker-1', 'broker-2', 'broker-3'];
    for (const c of chains) expect(keySlot(`idb:${AUDIT_KEYS.event(c, 1)}`)).toBe(keySlot(`idb:${AUDIT_KEYS.head(c)}`));
    expect(new Set(chains.map((c) => keySlot(`idb:${AUDIT_KEYS.head(c)}`))).size).toBe(4);
  });

  it('a failing slot makes write reject, naming how many slots failed', async () => {
    const store = createRedisClusterStore({ nodes: cluster.nodes, keyPrefix: `${filePrefix}fail:` });
    try {
      await store.set('str:{a}', 'x', 60);
      await expect(
        store.write([
          { op: 'set', key: 'ok:{b}', value: 'y', ttlSeconds: 60 },
          { op: 'sadd', key: 'str:{a}', member: 'm', ttlSeconds: 60 }, // WRONGTYPE
        ]),
      ).rejects.toThrow(/WRONGTYPE.*1 of 2 slots failed/);
      expect(await store.get('ok:{b}')).toBe('y'); // applied: atomicity holds per slot only
    } finally {
      await store.close();
    }
  });

  it('fails requests (does not hang) while no cluster node is reachable, and recovers when one is', async () => {
    const port = await freePort(); // nothing listens there yet
    const store = createRedisClusterStore({ nodes: [`redis://127.0.0.1:${port}`], keyPrefix: `${filePrefix}dead:` });
    const dir = mkdtempSync(join(tmpdir(), 'idb-cluster-late-'));
    let late: RedisServer | undefined;
    try {
      await expect(store.get('k')).rejects.toThrow(/no cluster node reachable/);
      await expect(store.write([{ op: 'set', key: 'k', value: 'v', ttlSeconds: 60 }])).rejects.toThrow(/no cluster node reachable|None of startup nodes/);
      await expect(store.ping()).rejects.toThrow();
      expect(store.client.status).not.toBe('end'); // it keeps trying to reconnect
      // A one-node cluster comes up on that port, holding every slot.
      late = await startRedis({
        port,
        extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1'],
      });
      await promisify(execFile)('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await store.ping().then(() => true, () => false);
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      expect(up).toBe(true);
      await store.write([
        { op: 'set', key: 'a{1}', value: 'back', ttlSeconds: 60 },
        { op: 'set', key: 'a{2}', value: 'again', ttlSeconds: 60 },
      ]);
      expect(await store.getMany(['a{1}', 'a{2}'])).toEqual(['back', 'again']);
    } finally {
      await store.close();
      await late?.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a key prefix with braces and malformed node addresses', () => {
    expect(() => createRedisClusterStore({ nodes: cluster.nodes, keyPrefix: '{idb}:' })).toThrow(/must not contain \{ or \}/);
    expect(() => createRedisClusterStore({ nodes: ['127.0.0.1'] })).toThrow(/not a redis:\/\/host:port/);
    expect(() => createRedisClusterStore({ nodes: [] })).toThrow(/at least one/);
    expect(() => createStore({ redisUrl: 'redis://127.0.0.1:1', redisCluster: { nodes: cluster.nodes } })).toThrow(/only one of redisUrl, redisCluster/);
  });
});
