/** Bad input from a service or at the IdP callback: a clear error, and nothing released. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, getText } from '../support/browser-client.js';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';

describe('bad input', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation();
  });
  afterAll(() => fed?.close());

  async function authorize(change: (url: URL) => void) {
    const service = await fed.service();
    const { url } = await service.begin({ vtr: ['Cl.Cm.P2'] });
    change(url);
    return new BrowserClient().fetch(url);
  }

  it('an unregistered redirect URI gets an error page and no redirect', async () => {
    const response = await authorize((u) => u.searchParams.set('redirect_uri', 'http://localhost:3200/callback/elsewhere'));
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await getText(response);
    expect(html).toContain('redirect_uri');
  });

  it.each([
    ['missing PKCE', (u: URL) => (u.searchParams.delete('code_challenge'), u.searchParams.delete('code_challenge_method')), 'invalid_request', /PKCE/],
    ['plain PKCE', (u: URL) => u.searchParams.set('code_challenge_method', 'plain'), 'invalid_request', /code_challenge_method/],
    ['an attribute the service may not have', (u: URL) => u.searchParams.set('claims', JSON.stringify({ id_token: { verified_claims: { claims: { given_name: null, email: null } } } })), 'invalid_request', /may not receive: email/],
    ['an unknown vtr', (u: URL) => u.searchParams.set('vtr', '["Cl.Cz.P9"]'), 'invalid_request', /unsupported level/],
    ['a level below the service minimum', (u: URL) => u.searchParams.set('vtr', '["Cl"]'), 'invalid_request', /below this service's minimum/],
    ['an unknown acr value', (u: URL) => (u.searchParams.delete('vtr'), u.searchParams.set('acr_values', 'urn:nobody:loa')), 'invalid_request', /unsupported level/],
  ])('%s is refused with an OIDC error to the service', async (_name, change, error, description) => {
    const response = await authorize(change);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('http://localhost:3200/callback');
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('error_description')).toMatch(description);
    expect(location.searchParams.get('code')).toBeNull();
  });

  it('a callback with a state the broker never issued gets an error page, nothing released', async () => {
    const browser = new BrowserClient();
    const response = await browser.fetch(`${fed.issuer}/idp/civic-id/callback?code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAA&iss=${encodeURIComponent(fed.idps['civic-id']!.issuer)}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('a replayed callback is refused the second time', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    const idpUrl = await citizen.choose('civic-id');
    const { signInAtStub } = await import('../support/idp-stub-driver.js');
    const callback = await signInAtStub(citizen.browser, idpUrl, { username: 'margaret', password: 'demo-password', secondFactor: 'code' });
    const first = await citizen.visit(callback);
    expect((first as { url: string }).url).toMatch(/\/consent$/);
    const again = await citizen.browser.fetch(callback);
    expect(again.status).toBe(400);
    expect(again.headers.get('location')).toBeNull();
  });

  it('(issue 13, item 5) a callback opened in another browser is refused with a plain-language page; the code is not redeemed, and the citizen carries on', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    const idpUrl = await citizen.choose('civic-id');
    const { signInAtStub } = await import('../support/idp-stub-driver.js');
    const callback = await signInAtStub(citizen.browser, idpUrl, { username: 'margaret', password: 'demo-password', secondFactor: 'code' });
    for (const [stranger, heading] of [
      [new BrowserClient(), 'Continue in the browser you started in'],
      [new BrowserClient({ headers: { cookie: 'lang=cy' } }), 'Parhewch yn y porwr y dechreuoch ynddo'],
    ] as const) {
      const response = await stranger.fetch(callback);
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await getText(response)).toContain(heading);
    }
    // The same callback with a forged binding cookie is refused too.
    const forger = new BrowserClient();
    const name = citizen.browser.cookies().find((c) => c.name.startsWith('idb_idp_'))?.name;
    expect(name).toBeDefined();
    const forged = await forger.fetch(callback, { headers: { cookie: `${name}=${'A'.repeat(43)}` } });
    expect(forged.status).toBe(400);
    // The code was not redeemed: the citizen's own browser goes on to consent.
    const own = await citizen.visit(callback);
    expect((own as { url: string }).url).toMatch(/\/consent$/);
    expect(citizen.browser.cookies().some((c) => c.name.startsWith('idb_idp_'))).toBe(false);
    await citizen.consent('approve');
    expect((await citizen.collect()).claims.txn).toBeDefined();
  });

  it('a consent form posted without the CSRF token is refused', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    const consent = await citizen.verifyWith('civic-id', 'margaret');
    const url = (consent as { url: string }).url;
    const response = await citizen.browser.fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=approve' });
    expect(response.status).toBe(403);
    expect(response.headers.get('location')).toBeNull();
  });

  it('a journey page asked for out of order is redirected to the page the journey allows', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    const picker = (citizen.current as { url: string }).url;
    const response = await citizen.browser.fetch(`${picker}/consent`);
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get('location')!, picker).href).toBe(picker);
  });
});
