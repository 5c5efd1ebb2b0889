import { afterEach, describe, expect, it } from 'vitest';
import type { Vector } from '@idbroker/policies';
import { UpstreamError } from './index.js';
import { BROKER, setup, type Setup } from './test-setup.js';

const P2: Vector = { authentication: 'Cl.Cm', confidence: 'P2' };
const ATTRS = ['given_name', 'family_name', 'birthdate'] as const;

let s: Setup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('beginAuthorization', () => {
  it('sends the citizen to the IdP with exactly the allowed parameters, and nothing about the service', async () => {
    s = await setup();
    const { url, secrets } = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [...ATTRS], uiLocales: 'cy' });
    expect(url.origin + url.pathname).toBe(`${s.rogues['civic-id']!.issuer}/authorize`);
    expect([...url.searchParams.keys()].sort()).toEqual(
      ['claims', 'client_id', 'code_challenge', 'code_challenge_method', 'nonce', 'redirect_uri', 'response_type', 'scope', 'state', 'ui_locales', 'vtr'].sort(),
    );
    const p = url.searchParams;
    expect(p.get('client_id')).toBe('identity-broker');
    expect(p.get('redirect_uri')).toBe(`${BROKER}/idp/civic-id/callback`);
    expect(p.get('response_type')).toBe('code');
    expect(p.get('scope')).toBe('openid');
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('vtr')).toBe('["Cl.Cm.P2"]');
    expect(p.get('ui_locales')).toBe('cy');
    expect(JSON.parse(p.get('claims')!)).toEqual({
      id_token: { verified_claims: { verification: { trust_framework: null, evidence: null }, claims: { given_name: null, family_name: null, birthdate: null } } },
    });
    expect(p.get('state')).toBe(secrets.state);
    expect(p.get('nonce')).toBe(secrets.nonce);
    expect(secrets).toMatchObject({ idpId: 'civic-id', requested: ['Cl.Cm.P2'] });
    // Nothing names the service (its client_id, name or redirect URI) anywhere in the URL.
    const rp = s.policies.relyingParties[0]!;
    for (const secret of [rp.client_id, rp.display_name, rp.organisation, ...rp.redirect_uris, rp.sector_identifier]) {
      expect(decodeURIComponent(url.href)).not.toContain(secret);
    }
  });

  it('uses fresh state, nonce and PKCE verifier every time, and discovers only once', async () => {
    s = await setup();
    const a = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] });
    const b = await s.idps.beginAuthorization('civic-id', { requested: [P2, { authentication: 'Cl.Cm.Cp', confidence: 'P1' }], attributes: [] });
    expect(a.secrets.state).not.toBe(b.secrets.state);
    expect(a.secrets.nonce).not.toBe(b.secrets.nonce);
    expect(a.secrets.codeVerifier).not.toBe(b.secrets.codeVerifier);
    // No attributes asked for: only the evidence (its GPG 45 scores decide the level).
    expect(JSON.parse(a.url.searchParams.get('claims')!)).toEqual({ id_token: { verified_claims: { verification: { trust_framework: null, evidence: null }, claims: {} } } });
    expect(a.url.searchParams.has('ui_locales')).toBe(false);
    expect(b.url.searchParams.get('vtr')).toBe('["Cl.Cm.P2","Cl.Cm.Cp.P1"]');
    expect(s.rogues['civic-id']!.requests.filter((r) => r.endpoint === 'discovery')).toHaveLength(1);
  });

  it('drops a ui_locales value that is not a language tag', async () => {
    s = await setup();
    const { url } = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [], uiLocales: 'cy&client_id=x' });
    expect(url.searchParams.has('ui_locales')).toBe(false);
  });

  it('refuses to start at an IdP not certified for the level', async () => {
    s = await setup({ rogues: ['community-vouch'] });
    await expect(s.idps.beginAuthorization('community-vouch', { requested: [P2], attributes: [] })).rejects.toMatchObject({ reason: 'level_not_met' });
    expect(s.rogues['community-vouch']!.requests).toHaveLength(0);
  });
});

describe('completeAuthorization: a good return', () => {
  it('gives the identity, with the level reached and only the claims asked for', async () => {
    s = await setup();
    const rogue = s.rogues['civic-id']!;
    const { url, secrets } = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: ['given_name', 'birthdate'] });
    const callback = await rogue.authorize(url);
    expect(callback.searchParams.get('iss')).toBe(rogue.issuer);
    const identity = await s.idps.completeAuthorization('civic-id', callback, secrets);
    expect(identity).toEqual({
      idpId: 'civic-id',
      subject: 'rogue-subject-1',
      achieved: P2,
      vot: 'Cl.Cm.P2',
      verifiedClaims: {
        verification: expect.objectContaining({ trust_framework: 'uk_diatf' }),
        claims: { given_name: 'Margaret', birthdate: '1958-03-14' },
      },
    });
    // The IdP really checked private_key_jwt and PKCE (it refuses otherwise), once.
    const tokenRequests = rogue.requests.filter((r) => r.endpoint === 'token');
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.params.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(tokenRequests[0]!.params.get('code_verifier')).toBe(secrets.codeVerifier);
    expect(tokenRequests[0]!.params.get('redirect_uri')).toBe(`${BROKER}/idp/civic-id/callback`);
  });

  it('maps access_denied to cancelled and server_error to provider_failed', async () => {
    s = await setup();
    const rogue = s.rogues['civic-id']!;
    rogue.setAuthorizationResponse((p) => new URLSearchParams({ error: 'access_denied', state: p.get('state')!, iss: rogue.issuer }));
    let begun = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] });
    await expect(s.idps.completeAuthorization('civic-id', await rogue.authorize(begun.url), begun.secrets)).rejects.toMatchObject({ reason: 'cancelled' });
    for (const error of ['server_error', 'temporarily_unavailable']) {
      rogue.setAuthorizationResponse((p) => new URLSearchParams({ error, state: p.get('state')!, iss: rogue.issuer }));
      begun = await s.idps.beginAuthorization('civic-id', { requested: [P2], attributes: [] });
      const e = await s.idps.completeAuthorization('civic-id', await rogue.authorize(begun.url), begun.secrets).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UpstreamError);
      expect((e as UpstreamError).reason).toBe('provider_failed');
    }
    expect(rogue.requests.filter((r) => r.endpoint === 'token')).toHaveLength(0);
  });
});
