import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { BrowserClient } from '../../test/support/browser-client.js';
import { registerPasskeyAtStub, signInAtStub } from '../../test/support/idp-stub-driver.js';
import { SoftwareAuthenticator } from '../src/testing/index.js';
import { authRequest, brokerClient, claimsFor, exchange, startStub, type Started } from './helpers.js';

describe('code flow with openid-client as the broker', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startStub('civic-id');
  });
  afterAll(async () => {
    await s?.stub.close();
  });

  it('Cl.P1 by password: acr/vot and only the requested attributes', async () => {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.P1"]', claims: claimsFor(['given_name', 'birthdate']) });
    const back = await signInAtStub(new BrowserClient(), req.url, { username: 'margaret', password: 'demo-password' });
    expect(back.origin + back.pathname).toBe(s.redirectUri);
    expect(back.searchParams.get('iss')).toBe(s.stub.issuer);
    const tokens = await exchange(config, back, req);
    const claims = tokens.claims()!;
    expect(claims.acr).toBe('Cl.P1');
    expect(claims.vot).toBe('Cl.P1');
    expect(claims.vtm).toBe(`${s.stub.issuer}/trustmark`);
    expect(claims.ci).toBeUndefined();
    const vc = claims.verified_claims as { verification: Record<string, unknown>; claims: Record<string, unknown> };
    expect(vc.verification.trust_framework).toBe('uk_diatf');
    expect(vc.verification.assurance_level).toBe('low');
    expect(vc.claims).toEqual({ given_name: 'Margaret', birthdate: '1958-03-14' });
    for (const absent of ['family_name', 'address', 'phone_number']) {
      expect(vc.claims[absent]).toBeUndefined();
      expect(claims[absent]).toBeUndefined();
    }
    // the signature, checked again with jose against the stub's JWKS
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${s.stub.issuer}/jwks`)), {
      issuer: s.stub.issuer,
      audience: 'identity-broker',
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.sub).toBe(claims.sub);
  });

  it('Cl.Cm.P2 by one-time code', async () => {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.Cm.P2"]', claims: claimsFor(['family_name', 'address']) });
    const back = await signInAtStub(new BrowserClient(), req.url, { username: 'dylan', password: 'demo-password', secondFactor: 'code' });
    const claims = (await exchange(config, back, req)).claims()!;
    expect(claims.acr).toBe('Cl.Cm.P2');
    expect(claims.vot).toBe('Cl.Cm.P2');
    const vc = claims.verified_claims as { verification: Record<string, unknown>; claims: Record<string, unknown> };
    expect(vc.verification.assurance_level).toBe('medium');
    expect(vc.claims).toEqual({
      family_name: 'Evans',
      address: { street_address: '4 Heol y Castell', locality: 'Aberexample', postal_code: 'EX9 4CY', country: 'GB' },
    });
  });

  it('Cl.Cm.Cp.P2 by passkey (software authenticator)', async () => {
    const browser = new BrowserClient();
    const authenticator = new SoftwareAuthenticator();
    await registerPasskeyAtStub(browser, s.stub.url, { username: 'priya', password: 'demo-password', authenticator });
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.Cm.Cp.P2"]', claims: claimsFor(['given_name', 'family_name']) });
    const back = await signInAtStub(browser, req.url, { username: 'priya', password: 'demo-password', secondFactor: 'passkey', authenticator });
    const claims = (await exchange(config, back, req)).claims()!;
    expect(claims.acr).toBe('Cl.Cm.Cp.P2');
    expect(claims.vot).toBe('Cl.Cm.Cp.P2');
    const vc = claims.verified_claims as { claims: Record<string, unknown> };
    expect(vc.claims).toEqual({ given_name: 'Priya', family_name: 'Shah' });
  });

  it('confidence is capped by what the person can reach (sam: P1) and acr_values work', async () => {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { acr_values: 'urn:idbroker:loa:medium', claims: claimsFor(['given_name']) });
    const back = await signInAtStub(new BrowserClient(), req.url, { username: 'sam', password: 'demo-password' });
    const claims = (await exchange(config, back, req)).claims()!;
    expect(claims.acr).toBe('Cl.Cm.P1');
  });
});
