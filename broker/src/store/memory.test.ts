import { describe, expect, it } from 'vitest';
import { createMemoryStore } from './memory.js';
import { createStore } from './index.js';
import { describeStoreContract } from './store-contract.js';

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describeStoreContract('memory', async () => {
  const c = clock();
  const store = createMemoryStore({ now: c.now });
  return { store, tick: async () => void c.advance(200), close: () => store.close() };
});

describe('memory store', () => {
  it('is what createStore gives without a Redis URL', async () => {
    const store = createStore({});
    expect(store.kind).toBe('memory');
    await store.close();
  });

  it('expires exactly at the TTL on the injected clock', async () => {
    const c = clock();
    const store = createMemoryStore({ now: c.now });
    await store.set('k', 'v', 2);
    c.advance(1_999);
    expect(await store.get('k')).toBe('v');
    c.advance(1);
    expect(await store.get('k')).toBeNull();
    await store.close();
  });

  it('the periodic sweep drops expired entries nobody reads', async () => {
    const c = clock();
    const store = createMemoryStore({ now: c.now, sweepIntervalMs: 5 });
    await store.set('a', 'v', 1);
    await store.write([{ op: 'sadd', key: 's', member: 'm', ttlSeconds: 1 }]);
    await store.set('b', 'v', 60);
    expect(store.size()).toBe(3);
    c.advance(1_000);
    for (let i = 0; i < 200 && store.size() > 1; i++) await new Promise((r) => setTimeout(r, 5));
    expect(store.size()).toBe(1);
    await store.close();
  });

  it('a type clash in write changes nothing', async () => {
    const store = createMemoryStore();
    await store.set('str', 'v', 60);
    await expect(
      store.write([
        { op: 'set', key: 'new', value: 'x', ttlSeconds: 60 },
        { op: 'sadd', key: 'str', member: 'm', ttlSeconds: 60 },
      ]),
    ).rejects.toThrow(/WRONGTYPE/);
    expect(await store.get('new')).toBeNull();
    expect(await store.get('str')).toBe('v');
    await store.close();
  });
});
