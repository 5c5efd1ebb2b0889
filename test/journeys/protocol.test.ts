/**
 * The broker as an OpenID Provider, held to the protocol (issue 13): what the authorization,
 * PAR, token and userinfo endpoints accept and refuse, each case a request an ordinary client
 * (or an attacker) could send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { BrowserClient, getText } from '../support/browser-client.js';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { BASIC_SERVICE, BASIC_SERVICE_SECRET, NAMES_ONLY_SERVICE, SECRET_FILES } from '../support/policies.js';

type Verified = { verification: Record<string, unknown>; claims: Record<string, unknown> };

describe('the authorization, token and userinfo endpoints', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({
      idps: ['civic-id'],
      policyChanges: { extraRps: { 'example-library-card': BASIC_SERVICE, 'example-parking-permit': NAMES_ONLY_SERVICE }, files: SECRET_FILES },
    });
  });
  afterAll(() => fed?.close());

  async function authorize(change: (url: URL) => void, clientId?: string, redirectUri?: string) {
    const service = await fed.service(clientId, redirectUri);
    const { url } = await service.begin({ vtr: ['Cl.Cm.P2'] });
    change(url);
    return new BrowserClient().fetch(url);
  }

  /** A redirect back to the service with an OIDC error. */
  function serviceError(response: Response, redirectUri = 'http://localhost:3200/callback') {
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(redirectUri);
    expect(location.searchParams.get('code')).toBeNull();
    return { error: location.searchParams.get('error'), description: location.searchParams.get('error_description') ?? '' };
  }

  it('(1) a request with more than one vector starts a journey, and the level reached is one of them', async () => {
    const citizen = new Citizen(fed);
    const picker = await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2', 'Cl.Cm.P1'] });
    expect(picker).toMatchObject({ kind: 'page', status: 200 });
    expect(citizen.html).toContain('name="provider"');
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    expect(['Cl.Cm.P2', 'Cl.Cm.P1']).toContain(claims.vot);
    const started = (await fed.brokers[0]!.audit.list({ journey: String(claims.txn), limit: 100 })).find((e) => e.type === 'journey.started');
    expect(started?.data?.requested).toBe('Cl.Cm.P2:Cl.Cm.P1');
  });

  it('(7) an authorization request without redirect_uri gets an error page, no redirect and no journey', async () => {
    const response = await authorize((u) => u.searchParams.delete('redirect_uri'));
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await getText(response)).toContain('redirect_uri');
  });

  it('(8) a plain claim asked for as essential is refused (attributes are released only in verified_claims)', async () => {
    const response = await authorize((u) => u.searchParams.set('claims', JSON.stringify({ id_token: { email: { essential: true } } })));
    const { error, description } = serviceError(response);
    expect(error).toBe('invalid_request');
    expect(description).toMatch(/email/);
    const userinfo = await authorize((u) => u.searchParams.set('claims', JSON.stringify({ userinfo: { given_name: { essential: true } } })));
    expect(serviceError(userinfo)).toMatchObject({ error: 'invalid_request', description: expect.stringMatching(/given_name/) });
  });

  it('(8) a plain claim asked for voluntarily is not refused (and not released outside verified_claims)', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ['given_name'], extra: { claims: JSON.stringify({ id_token: { given_name: null, verified_claims: { verification: { trust_framework: null }, claims: { given_name: null } } } }) } });
    expect(citizen.current).toMatchObject({ kind: 'page', status: 200 });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    expect(claims.given_name).toBeUndefined();
    expect((claims.verified_claims as Verified).claims.given_name).toBe('Margaret');
  });

  it('(9) verified_claims asked for at userinfo are released at userinfo, not in the ID token', async () => {
    const citizen = new Citizen(fed);
    const userinfoOnly = JSON.stringify({ userinfo: { verified_claims: { verification: { trust_framework: null }, claims: { given_name: null, family_name: null } } } });
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: [], extra: { claims: userinfoOnly } });
    await citizen.verifyWith('civic-id', 'margaret');
    expect(citizen.html).toContain('Okafor');
    await citizen.consent('approve');
    const { claims, userinfo } = await citizen.collect();
    expect(claims.verified_claims).toBeUndefined();
    expect(userinfo.sub).toBe(claims.sub);
    const verified = userinfo.verified_claims as Verified;
    expect(verified.verification.trust_framework).toBe('uk_diatf');
    expect(verified.claims).toEqual({ given_name: 'Margaret', family_name: 'Okafor' });
  });

  it('(10) a PAR request_uri starts one journey only', async () => {
    const service = await fed.service();
    const tx = await service.begin({ vtr: ['Cl.Cm.P2'] });
    const params = Object.fromEntries(tx.url.searchParams);
    const url = await client.buildAuthorizationUrlWithPAR(service.config, params);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const first = await new BrowserClient().fetch(url);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toMatch(/^\/journey\//);
    // The same request_uri again, from another browser (or the same one), while the first journey is under way.
    for (const browser of [new BrowserClient(), new BrowserClient()]) {
      const again = await browser.fetch(url);
      expect(again.headers.get('location') ?? '').not.toMatch(/\/journey\//);
      const { error } = serviceError(again);
      expect(error).toBe('invalid_request_uri');
    }
  });

  it('(12) scope=openid profile from a service that may not receive birthdate: the permitted names are asked for, shown and released', async () => {
    const service = await fed.service(NAMES_ONLY_SERVICE.client_id, NAMES_ONLY_SERVICE.redirect_uris[0]);
    const citizen = new Citizen(fed);
    const picker = await citizen.start(service, { vtr: ['Cl.Cm.P2'], attributes: [], extra: { scope: 'openid profile' } });
    expect(picker).toMatchObject({ kind: 'page', status: 200 });
    await citizen.verifyWith('civic-id', 'margaret');
    expect(citizen.html).toContain('Margaret');
    expect(citizen.html).toContain('Okafor');
    expect(citizen.html).not.toContain('1958');
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    expect((claims.verified_claims as Verified).claims).toEqual({ given_name: 'Margaret', family_name: 'Okafor' });
  });

  it('(12) an attribute asked for as essential that the service may not receive is still refused', async () => {
    const response = await authorize(
      (u) => {
        u.searchParams.set('scope', 'openid profile');
        u.searchParams.set('claims', JSON.stringify({ id_token: { verified_claims: { verification: { trust_framework: null }, claims: { birthdate: { essential: true } } } } }));
      },
      NAMES_ONLY_SERVICE.client_id,
      NAMES_ONLY_SERVICE.redirect_uris[0],
    );
    expect(serviceError(response, NAMES_ONLY_SERVICE.redirect_uris[0])).toMatchObject({ error: 'invalid_request', description: expect.stringMatching(/may not receive: birthdate/) });
  });

  it('(6) a client registered for client_secret_basic cannot authenticate with client_secret_post; with basic it can', async () => {
    const redirectUri = BASIC_SERVICE.redirect_uris[0]!;
    const service = await fed.service(BASIC_SERVICE.client_id, redirectUri);
    const citizen = new Citizen(fed);
    await citizen.start(service, { vtr: ['Cl.Cm.P2'], attributes: ['given_name'] });
    await citizen.verifyWith('civic-id', 'margaret');
    const back = await citizen.consent('approve');
    expect(back.kind).toBe('service');
    const callback = (back as { url: URL }).url;
    const discover = (auth: client.ClientAuth) =>
      client.discovery(new URL(fed.issuer), BASIC_SERVICE.client_id, { id_token_signed_response_alg: 'ES256' }, auth, { execute: [client.allowInsecureRequests] });
    const checks = { pkceCodeVerifier: citizen.tx.codeVerifier, expectedState: citizen.tx.state, expectedNonce: citizen.tx.nonce };

    const viaPost = await client.authorizationCodeGrant(await discover(client.ClientSecretPost(BASIC_SERVICE_SECRET)), callback, checks).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(viaPost).toBeInstanceOf(client.ResponseBodyError);
    expect((viaPost as client.ResponseBodyError).status).toBe(401);
    expect((viaPost as client.ResponseBodyError).error).toBe('invalid_client');

    const tokens = await client.authorizationCodeGrant(await discover(client.ClientSecretBasic(BASIC_SERVICE_SECRET)), callback, checks);
    expect((tokens.claims()!.verified_claims as Verified).claims).toEqual({ given_name: 'Margaret' });
  });
});
