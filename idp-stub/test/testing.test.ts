import { describe, expect, it } from 'vitest';
import { BrowserClient } from '../../test/support/browser-client.js';
import { signInAtStub } from '../../test/support/idp-stub-driver.js';
import { startTestIdps } from '../src/testing/index.js';
import { authRequest, brokerClient, exchange, levels, policies } from './helpers.js';

describe('startTestIdps', () => {
  it('starts a stub per policy on 127.0.0.1 free ports with the broker callback per IdP, and closes them', async () => {
    const idps = await startTestIdps({ policies: policies.identityProviders, levels, brokerIssuer: 'http://127.0.0.1:9' });
    try {
      expect([...idps.stubs.keys()].sort()).toEqual(['civic-id', 'community-vouch', 'swift-verify']);
      for (const p of idps.policies) {
        expect(p.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const meta = (await (await fetch(`${p.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
        expect(meta.issuer).toBe(p.issuer);
      }
      // community-vouch is certified for Cl.P1 only: a P2 request gets what it can give
      const stub = idps.stub('community-vouch');
      const config = await brokerClient(stub);
      const redirect = 'http://127.0.0.1:9/idp/community-vouch/callback';
      const req = await authRequest(config, redirect, { vtr: '["Cl.Cm.P2"]' });
      const back = await signInAtStub(new BrowserClient(), req.url, { username: 'margaret', password: 'demo-password' });
      expect((await exchange(config, back, req)).claims()!.acr).toBe('Cl.P1');
      expect(() => idps.stub('nope')).toThrow(/no test IdP "nope"/);
    } finally {
      await idps.close();
    }
    const after = await fetch(`${idps.policies[0]!.issuer}/healthz`).then(() => 'up', () => 'closed');
    expect(after).toBe('closed');
  });
});
