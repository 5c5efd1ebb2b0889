/** The wallet stub on its own: its pages' messages, its switches, and what it refuses to answer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWalletStub, walletMessages, parseWalletSwitches, type WalletStub } from '../src/index.js';

describe('wallet stub', () => {
  let stub: WalletStub;
  beforeAll(async () => {
    stub = await startWalletStub({ adminToken: 'test-admin' });
  });
  afterAll(() => stub?.close());

  it('English and Welsh have the same keys and placeholders', () => {
    expect(Object.keys(walletMessages.cy).sort()).toEqual(Object.keys(walletMessages.en).sort());
    for (const key of Object.keys(walletMessages.en)) {
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(walletMessages.cy[key]!), key).toEqual(names(walletMessages.en[key]!));
    }
  });

  it('serves a signed Token Status List', async () => {
    const response = await fetch(`${stub.url}/status/1`);
    expect(response.headers.get('content-type')).toContain('application/statuslist+jwt');
    const [h] = (await response.text()).split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toMatchObject({ typ: 'statuslist+jwt', alg: 'ES256' });
  });

  it('refuses a request it cannot check (no signed request from a registered verifier), in plain words', async () => {
    const response = await fetch(`${stub.url}/authorize?client_id=redirect_uri%3Ahttps%3A%2F%2Fevil.example%2Fcb&response_type=vp_token&nonce=n&response_mode=direct_post&response_uri=https%3A%2F%2Fevil.example%2Fcb&dcql_query=%7B%7D`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('The wallet did not trust this request');
  });

  it('switches: set with the admin token, refused without it or with an unknown mode', async () => {
    expect(() => parseWalletSwitches({ fail: 'melt' }, { fail: 'none' })).toThrow(/fail must be one of/);
    const denied = await fetch(`${stub.url}/admin/switches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fail: 'revoked' }) });
    expect(denied.status).toBe(401);
    const set = await fetch(`${stub.url}/admin/switches`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin' }, body: JSON.stringify({ fail: 'revoked' }) });
    expect(await set.json()).toEqual({ fail: 'revoked' });
    expect(stub.switches.fail).toBe('revoked');
    stub.switches.fail = 'none';
  });
});
