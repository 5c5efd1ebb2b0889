/**
 * The oidc-provider adapter's tests, run on every Store: memory and single-node Redis
 * (oidc-adapter.test.ts), Redis Cluster (redis-cluster.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdapterConstructor } from 'oidc-provider';
import { createSealer, deriveKey } from '../crypto/seal.js';
import { createOidcAdapter } from './oidc-adapter.js';
import { eventually, type StoreHarness } from './store-contract.js';
import type { Store } from './types.js';

export interface OidcAdapterHarness extends StoreHarness {
  now: () => number;
}

async function dumpText(store: Store): Promise<string> {
  const lines: string[] = [];
  for await (const { key, value } of store.dump()) lines.push(`${key}=${value}`);
  return lines.join('\n');
}

export function describeOidcAdapterContract(name: string, make: () => OidcAdapterHarness | Promise<OidcAdapterHarness>): void {
  describe(`oidc-provider adapter on the ${name} store`, () => {
    let h: OidcAdapterHarness;
    let Adapter: AdapterConstructor;
    beforeEach(async () => {
      h = await make();
      Adapter = createOidcAdapter(h.store, { now: h.now });
    });
    afterEach(() => h.close());

    it('upserts and finds a record; unknown ids are undefined; models do not mix', async () => {
      const codes = new Adapter('AuthorizationCode');
      const payload = { accountId: 'acc-1', clientId: 'council', grantId: 'g1', kind: 'AuthorizationCode', jti: 'c1', scope: 'openid' };
      await codes.upsert('c1', payload, 60);
      expect(await codes.find('c1')).toEqual(payload);
      expect(await codes.find('nope')).toBeUndefined();
      expect(await new Adapter('AccessToken').find('c1')).toBeUndefined();
      await codes.upsert('c1', { ...payload, scope: 'openid email' }, 60);
      expect((await codes.find('c1'))?.scope).toBe('openid email');
    });

    it('records expire after expiresIn', async () => {
      const a = new Adapter('Interaction');
      await a.upsert('i1', { kind: 'Interaction', jti: 'i1' }, 1);
      await a.upsert('i2', { kind: 'Interaction', jti: 'i2' }, 600);
      await eventually(h, async () => (await a.find('i1')) === undefined);
      expect(await a.find('i2')).toBeDefined();
    });

    it('finds a session by uid and a device code by user code', async () => {
      const sessions = new Adapter('Session');
      await sessions.upsert('s1', { kind: 'Session', jti: 's1', uid: 'uid-1', accountId: 'acc' }, 60);
      expect((await sessions.findByUid('uid-1'))?.jti).toBe('s1');
      expect(await sessions.findByUid('uid-2')).toBeUndefined();
      const devices = new Adapter('DeviceCode');
      await devices.upsert('d1', { kind: 'DeviceCode', jti: 'd1', userCode: 'ABCD-EFGH', grantId: 'g' }, 60);
      expect((await devices.findByUserCode('ABCD-EFGH'))?.jti).toBe('d1');
      expect(await devices.findByUserCode('ZZZZ-ZZZZ')).toBeUndefined();
    });

    it('consume marks a record consumed and keeps it (and its expiry)', async () => {
      const codes = new Adapter('AuthorizationCode');
      await codes.upsert('c1', { kind: 'AuthorizationCode', jti: 'c1', grantId: 'g1' }, 1);
      expect((await codes.find('c1'))?.consumed).toBeUndefined();
      const before = Math.floor(h.now() / 1000);
      await codes.consume('c1');
      const found = await codes.find('c1');
      expect(found?.consumed).toBeGreaterThanOrEqual(before);
      expect(found?.grantId).toBe('g1');
      await eventually(h, async () => (await codes.find('c1')) === undefined);
      await codes.consume('c1'); // gone: no effect, no error
      expect(await codes.find('c1')).toBeUndefined();
    });

    it('destroy removes the record and its indexes', async () => {
      const sessions = new Adapter('Session');
      await sessions.upsert('s1', { kind: 'Session', jti: 's1', uid: 'uid-1' }, 60);
      await sessions.destroy('s1');
      expect(await sessions.find('s1')).toBeUndefined();
      expect(await sessions.findByUid('uid-1')).toBeUndefined();
      expect(await dumpText(h.store)).not.toContain('uid-1');
      await sessions.destroy('never'); // no error
    });

    it('revokeByGrantId removes every token of that grant and nothing else', async () => {
      const codes = new Adapter('AuthorizationCode');
      const access = new Adapter('AccessToken');
      const refresh = new Adapter('RefreshToken');
      await codes.upsert('c1', { kind: 'AuthorizationCode', jti: 'c1', grantId: 'g1' }, 60);
      await access.upsert('a1', { kind: 'AccessToken', jti: 'a1', grantId: 'g1' }, 60);
      await refresh.upsert('r1', { kind: 'RefreshToken', jti: 'r1', grantId: 'g1' }, 600);
      await access.upsert('a2', { kind: 'AccessToken', jti: 'a2', grantId: 'g2' }, 60);
      await access.revokeByGrantId('g1');
      expect(await codes.find('c1')).toBeUndefined();
      expect(await access.find('a1')).toBeUndefined();
      expect(await refresh.find('r1')).toBeUndefined();
      expect(await access.find('a2')).toBeDefined();
      expect(await h.store.members('oidc:grant:g1')).toEqual([]);
      await access.revokeByGrantId('unknown'); // no error
    });

    it('with a sealer, records are encrypted at rest, bound to their key, and still found', async () => {
      const sealer = createSealer(deriveKey('a-test-secret-that-is-long-enough-0123456789', 'oidc'));
      const Sealed = createOidcAdapter(h.store, { sealer, now: h.now });
      const interactions = new Sealed('Interaction');
      const payload = { kind: 'Interaction', jti: 'i1', result: { consent: { given_name: 'Margaret' } } } as never;
      await interactions.upsert('i1', payload, 60);
      await interactions.upsert('i2', { kind: 'Interaction', jti: 'i2' }, 60);
      expect(await interactions.find('i1')).toEqual(payload);
      expect(await dumpText(h.store)).not.toContain('Margaret');
      // A record copied under another id does not open.
      await h.store.set('oidc:rec:Interaction:i2', (await h.store.get('oidc:rec:Interaction:i1'))!, 60);
      await expect(interactions.find('i2')).rejects.toThrow(/could not be opened/);
      await interactions.destroy('i2');
      expect(await h.store.get('oidc:rec:Interaction:i2')).toBeNull();
    });
  });
}
