/**
 * The one contract every Store passes. Run by memory.test.ts and redis.test.ts; any other
 * store (Sentinel, Cluster) must pass it too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from './types.js';

export interface StoreHarness {
  store: Store;
  /** Let some time pass: virtual time for a store with an injected clock, a short real wait for Redis. */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/** Poll `check` (ticking time) until it passes; fail after many ticks. */
export async function eventually(h: StoreHarness, check: () => Promise<boolean>, ticks = 100): Promise<void> {
  for (let i = 0; i < ticks; i++) {
    if (await check()) return;
    await h.tick();
  }
  throw new Error('condition not reached');
}

export function describeStoreContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    beforeEach(async () => {
      h = await makeHarness();
      store = h.store;
    });
    afterEach(async () => {
      await h.close();
    });

    it('sets, gets and deletes strings', async () => {
      expect(await store.get('a')).toBeNull();
      await store.set('a', 'one', 60);
      await store.set('b', 'two', 60);
      expect(await store.get('a')).toBe('one');
      await store.set('a', 'uno', 60);
      expect(await store.get('a')).toBe('uno');
      await store.del('a', 'b', 'never-set');
      expect(await store.get('a')).toBeNull();
      expect(await store.get('b')).toBeNull();
      await store.del(); // no keys: no effect, no error
    });

    it('keeps values byte for byte (unicode, JSON, empty string)', async () => {
      const values = ['', 'Zoë Ñandú 🎉', JSON.stringify({ a: [1, 'x'], b: null }), 'line\nbreak\r\n\0nul'];
      for (const [i, v] of values.entries()) await store.set(`v${i}`, v, 60);
      for (const [i, v] of values.entries()) expect(await store.get(`v${i}`)).toBe(v);
    });

    it('getMany reads several keys in order, null for absent ones and for sets', async () => {
      await store.set('m1', 'x', 60);
      await store.set('m3', 'z', 60);
      await store.write([{ op: 'sadd', key: 'mset', member: 'p', ttlSeconds: 60 }]);
      expect(await store.getMany(['m1', 'm2', 'm3', 'mset'])).toEqual(['x', null, 'z', null]);
      expect(await store.getMany([])).toEqual([]);
    });

    it('expires values after their TTL', async () => {
      await store.set('short', 'gone soon', 1);
      await store.set('long', 'stays', 600);
      await eventually(h, async () => (await store.get('short')) === null);
      expect(await store.get('long')).toBe('stays');
      expect(await store.getMany(['short', 'long'])).toEqual([null, 'stays']);
    });

    it('refuses to store without a positive TTL', async () => {
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.set('t', 'v', ttl)).rejects.toThrow(/ttlSeconds/);
        await expect(store.setIfAbsent('t', 'v', ttl)).rejects.toThrow(/ttlSeconds/);
        await expect(store.write([{ op: 'sadd', key: 't', member: 'v', ttlSeconds: ttl }])).rejects.toThrow(/ttlSeconds/);
        await expect(store.increment('t', ttl)).rejects.toThrow(/windowSeconds/);
      }
      expect(await store.get('t')).toBeNull();
    });

    it('setIfAbsent sets once, then refuses until the value expires', async () => {
      expect(await store.setIfAbsent('once', 'first', 1)).toBe(true);
      expect(await store.setIfAbsent('once', 'second', 1)).toBe(false);
      expect(await store.get('once')).toBe('first');
      await eventually(h, async () => (await store.get('once')) === null);
      expect(await store.setIfAbsent('once', 'third', 60)).toBe(true);
      expect(await store.get('once')).toBe('third');
    });

    it('setIfAbsent lets exactly one of many concurrent callers win', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.setIfAbsent('race', `c${i}`, 60)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await store.get('race')).toBe(`c${winner}`);
    });

    it('take reads and deletes: a single-use value is returned once', async () => {
      await store.set('code', 'secret', 60);
      const taken = await Promise.all([store.take('code'), store.take('code'), store.take('code')]);
      expect(taken.filter((v) => v !== null)).toEqual(['secret']);
      expect(await store.get('code')).toBeNull();
      expect(await store.take('never')).toBeNull();
    });

    it('write applies sets, deletes, set members and expiries together', async () => {
      await store.set('old', 'x', 60);
      await store.set('later', 'y', 600);
      await store.write([
        { op: 'set', key: 'j1', value: 'journey', ttlSeconds: 60 },
        { op: 'del', key: 'old' },
        { op: 'sadd', key: 'idx', member: 'j1', ttlSeconds: 60 },
        { op: 'sadd', key: 'idx', member: 'j2', ttlSeconds: 60 },
        { op: 'expire', key: 'later', ttlSeconds: 1 },
        { op: 'expire', key: 'absent', ttlSeconds: 60 },
      ]);
      expect(await store.get('j1')).toBe('journey');
      expect(await store.get('old')).toBeNull();
      expect((await store.members('idx')).sort()).toEqual(['j1', 'j2']);
      expect(await store.get('absent')).toBeNull();
      await eventually(h, async () => (await store.get('later')) === null);
      await store.write([]);
    });

    it('write keeps the order of operations on the same key', async () => {
      await store.write([
        { op: 'set', key: 'o', value: '1', ttlSeconds: 60 },
        { op: 'del', key: 'o' },
        { op: 'set', key: 'o', value: '3', ttlSeconds: 60 },
      ]);
      expect(await store.get('o')).toBe('3');
    });

    it('write rejects a bad batch before changing anything', async () => {
      await store.set('keep', 'me', 60);
      await expect(
        store.write([
          { op: 'del', key: 'keep' },
          { op: 'set', key: 'bad', value: 'v', ttlSeconds: 0 },
        ]),
      ).rejects.toThrow();
      expect(await store.get('keep')).toBe('me');
      expect(await store.get('bad')).toBeNull();
    });

    it('sets: members, expiry, and a TTL that is extended but never shortened', async () => {
      expect(await store.members('none')).toEqual([]);
      await store.write([{ op: 'sadd', key: 's-short', member: 'a', ttlSeconds: 1 }]);
      await store.write([{ op: 'sadd', key: 's-extended', member: 'a', ttlSeconds: 1 }]);
      await store.write([{ op: 'sadd', key: 's-extended', member: 'b', ttlSeconds: 600 }]);
      await store.write([{ op: 'sadd', key: 's-kept', member: 'a', ttlSeconds: 600 }]);
      await store.write([{ op: 'sadd', key: 's-kept', member: 'a', ttlSeconds: 1 }]);
      await store.set('sentinel', 'x', 1); // written after every sadd above, with the shortest TTL
      await eventually(h, async () => (await store.get('sentinel')) === null);
      expect(await store.members('s-short')).toEqual([]);
      expect((await store.members('s-extended')).sort()).toEqual(['a', 'b']);
      expect(await store.members('s-kept')).toEqual(['a']);
      await store.del('s-kept');
      expect(await store.members('s-kept')).toEqual([]);
    });

    it('increment counts within a window that starts at the first increment', async () => {
      expect(await store.increment('rl', 1)).toBe(1);
      expect(await store.increment('rl', 1)).toBe(2);
      expect(await store.increment('rl', 1)).toBe(3);
      await eventually(h, async () => (await store.get('rl')) === null);
      expect(await store.increment('rl', 60)).toBe(1);
    });

    it('increment is atomic under concurrency', async () => {
      const counts = await Promise.all(Array.from({ length: 25 }, () => store.increment('many', 60)));
      expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    });

    it('writeIf applies its writes only when the guard holds, and its always-writes either way', async () => {
      const ops = (v: string) => [
        { op: 'set' as const, key: 'w:{c}:head', value: v, ttlSeconds: 60 },
        { op: 'set' as const, key: `w:{c}:item:${v}`, value: `item ${v}`, ttlSeconds: 60 },
        { op: 'sadd' as const, key: 'w:{c}:set', member: v, ttlSeconds: 60 },
      ];
      const index = (v: string) => [{ op: 'sadd' as const, key: 'w:index', member: v, ttlSeconds: 60 }];
      // Absent guard expected absent: written.
      expect(await store.writeIf({ key: 'w:{c}:head', equals: null }, ops('1'), index('1'))).toEqual({ written: true, current: null });
      // A stale expectation changes nothing guarded, answers what is there.
      expect(await store.writeIf({ key: 'w:{c}:head', equals: null }, ops('x'), index('x'))).toEqual({ written: false, current: '1' });
      expect(await store.writeIf({ key: 'w:{c}:head', equals: '0' }, ops('y'), index('y'))).toEqual({ written: false, current: '1' });
      expect(await store.writeIf({ key: 'w:{c}:head', equals: '1' }, ops('2'), index('2'))).toEqual({ written: true, current: '1' });
      expect(await store.get('w:{c}:head')).toBe('2');
      expect(await store.getMany(['w:{c}:item:1', 'w:{c}:item:2', 'w:{c}:item:x', 'w:{c}:item:y'])).toEqual(['item 1', 'item 2', null, null]);
      expect((await store.members('w:{c}:set')).sort()).toEqual(['1', '2']);
      expect((await store.members('w:index')).sort()).toEqual(['1', '2', 'x', 'y']);
      // del and expire ops; no always-writes.
      expect(await store.writeIf({ key: 'w:{c}:head', equals: '2' }, [{ op: 'del', key: 'w:{c}:item:1' }, { op: 'expire', key: 'w:{c}:item:2', ttlSeconds: 1 }])).toEqual({ written: true, current: '2' });
      expect(await store.get('w:{c}:item:1')).toBeNull();
      await eventually(h, async () => (await store.get('w:{c}:item:2')) === null);
    });

    it('writeIf is a compare-and-set under concurrency: one writer wins each value', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.writeIf({ key: 'cas:{k}', equals: null }, [{ op: 'set', key: 'cas:{k}', value: `w${i}`, ttlSeconds: 60 }])));
      expect(results.filter((r) => r.written)).toHaveLength(1);
      const winner = await store.get('cas:{k}');
      expect(results.filter((r) => !r.written).every((r) => r.current === winner)).toBe(true);
    });

    it('ping answers while the store is up', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('dump lists every live key and value, set members one by one', async () => {
      await store.set('d1', 'alpha', 60);
      await store.write([
        { op: 'sadd', key: 'd2', member: 'beta', ttlSeconds: 60 },
        { op: 'sadd', key: 'd2', member: 'gamma', ttlSeconds: 60 },
      ]);
      await store.increment('d3', 60);
      await store.set('d4', 'expiring', 1);
      await eventually(h, async () => (await store.get('d4')) === null);
      const seen: string[] = [];
      for await (const { key, value } of store.dump()) seen.push(`${key}=${value}`);
      expect(seen.sort()).toEqual(['d1=alpha', 'd2=beta', 'd2=gamma', 'd3=1']);
    });

    it('fails once closed', async () => {
      await store.set('c', 'v', 60);
      await store.close();
      await expect(store.get('c')).rejects.toThrow();
      await expect(store.set('c', 'v', 60)).rejects.toThrow();
    });
  });
}
