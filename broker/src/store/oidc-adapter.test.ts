import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { createMemoryStore } from './memory.js';
import { createOidcAdapter, oidcKeys, OidcRecords } from './oidc-adapter.js';
import { describeOidcAdapterContract, type OidcAdapterHarness } from './oidc-adapter-contract.js';
import { createRedisStore } from './redis.js';
import type { Store, WriteOp } from './types.js';

const filePrefix = `t:${randomBytes(6).toString('hex')}:oidc:`;
let n = 0;

const kinds: [string, () => OidcAdapterHarness][] = [
  [
    'memory',
    () => {
      let t = 1_700_000_000_000;
      const now = () => t;
      const store = createMemoryStore({ now });
      return { store, now, tick: async () => void (t += 200), close: () => store.close() };
    },
  ],
  [
    'redis',
    () => {
      const store = createRedisStore({ redisUrl: inject('redisUrl'), keyPrefix: `${filePrefix}${n++}:` });
      return { store, now: Date.now, tick: () => new Promise((r) => setTimeout(r, 100)), close: () => store.close() };
    },
  ],
];

describeOidcAdapterContract('memory', kinds[0]![1]);
describeOidcAdapterContract('redis', kinds[1]![1]);

describe('oidc-provider adapter: TTL cap', () => {
  it('caps every TTL at 90 minutes by default, and gives the cap to records without one', async () => {
    let t = 1_700_000_000_000;
    const store = createMemoryStore({ now: () => t });
    const Adapter = createOidcAdapter(store, { now: () => t });
    const refresh = new Adapter('RefreshToken');
    await refresh.upsert('long', { kind: 'RefreshToken', jti: 'long', grantId: 'g' }, 14 * 24 * 3600);
    await refresh.upsert('none', { kind: 'RefreshToken', jti: 'none', grantId: 'g' });
    t += 5_400_000 - 1;
    expect(await refresh.find('long')).toBeDefined();
    expect(await refresh.find('none')).toBeDefined();
    t += 1;
    expect(await refresh.find('long')).toBeUndefined();
    expect(await refresh.find('none')).toBeUndefined();
    expect(await store.members('oidc:grant:g')).toEqual([]);
    await store.close();
  });

  it('refuses model names that could collide with other keys', async () => {
    const store = createMemoryStore();
    const Adapter = createOidcAdapter(store);
    expect(() => new Adapter('Session:uid')).toThrow(/model name/);
    await store.close();
  });
});

describe('oidc-provider adapter: write order (safe where a write is atomic per slot only)', () => {
  /** A memory store that records every write and can fail the next one. */
  function recording() {
    const inner = createMemoryStore();
    const writes: string[][] = [];
    let failNext = false;
    const store: Store = {
      ...inner,
      async write(ops: WriteOp[]) {
        writes.push(ops.map((o) => `${o.op} ${o.key}`));
        if (failNext) {
          failNext = false;
          throw new Error('store down');
        }
        return inner.write(ops);
      },
    };
    return { store, writes, failNext: () => void (failNext = true) };
  }

  it('upsert writes the indexes before the record; a failed index write leaves no record', async () => {
    const r = recording();
    const Adapter = createOidcAdapter(r.store);
    const tokens = new Adapter('AccessToken');
    r.failNext();
    await expect(tokens.upsert('a1', { kind: 'AccessToken', jti: 'a1', grantId: 'g1' }, 60)).rejects.toThrow('store down');
    expect(await tokens.find('a1')).toBeUndefined();
    await tokens.upsert('a1', { kind: 'AccessToken', jti: 'a1', grantId: 'g1' }, 60);
    expect(r.writes.slice(-2)).toEqual([['sadd oidc:grant:g1'], ['set oidc:rec:AccessToken:a1']]);
    await tokens.revokeByGrantId('g1');
    expect(await tokens.find('a1')).toBeUndefined();
    await r.store.close();
  });
});

describe('oidc-provider adapter: deferred writes (OidcRecords)', () => {
  it('keeps the upsert and the destroy of a deferred record for the caller to write with its own', async () => {
    const store = createMemoryStore();
    const records = new OidcRecords();
    const Adapter = createOidcAdapter(store, { records, oneWrite: true });
    const codes = new Adapter('AuthorizationCode');
    const sessions = new Adapter('Session');
    await codes.upsert('c1', { jti: 'c1', grantId: 'g1' }, 60);
    await sessions.upsert('s1', { jti: 's1', uid: 'u1' }, 60);
    const key = oidcKeys.record('AuthorizationCode', 'c1');
    records.defer(key);
    await codes.destroy('c1');
    expect(await store.get(key)).not.toBeNull(); // kept, not written
    const kept = records.take(key);
    expect(kept).toEqual([{ op: 'del', key }]);
    await store.write(kept);
    expect(await codes.find('c1')).toBeUndefined();
    // A record with an index (Session) is never kept: its destroy reads it to find the index.
    records.defer(oidcKeys.record('Session', 's1'));
    await sessions.destroy('s1');
    expect(records.take(oidcKeys.record('Session', 's1'))).toEqual([]);
    expect(await store.get(oidcKeys.uid('Session', 'u1'))).toBeNull();
    expect(await sessions.find('s1')).toBeUndefined();
  });
});
