import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { exportJWK, generateKeyPair } from 'jose';
import { BrowserClient, getText } from '../../test/support/browser-client.js';
import { signInAtStub, StubPageError } from '../../test/support/idp-stub-driver.js';
import { authRequest, brokerClient, startStub, type Started } from './helpers.js';

describe('refusals', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startStub('swift-verify');
  });
  afterAll(async () => {
    await s?.stub.close();
  });

  it('a wrong password gives the sign-in page again with an error tied to the field, no redirect', async () => {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.P1"]' });
    const browser = new BrowserClient();
    const page = await browser.follow(req.url);
    expect(page.response.status).toBe(200);
    const html = await getText(page.response);
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<label for="password">Password<\/label>/);
    const res = await browser.submitForm(html, page.url, { formSelector: 'sign-in', fields: { username: 'margaret', password: 'not-the-password' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const again = await getText(res);
    expect(again).toContain('The username or password is not right');
    expect(again).toMatch(/id="password"[^>]*aria-describedby="password-error"/);
    expect(again).toContain('id="password-error"');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    await expect(signInAtStub(new BrowserClient(), req.url, { username: 'margaret', password: 'wrong' })).rejects.toThrow(StubPageError);
  });

  it('a wrong one-time code is refused; the code works once only', async () => {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.Cm.P2"]' });
    const browser = new BrowserClient();
    const page = await browser.follow(req.url);
    const signedIn = await browser.submitForm(await getText(page.response), page.url, { formSelector: 'sign-in', fields: { username: 'priya', password: 'demo-password' } });
    expect(signedIn.status).toBe(303);
    const step = await browser.follow(new URL(signedIn.headers.get('location')!, page.url));
    const html = await getText(step.response);
    const code = /data-testid="demo-code">(\d{6})</.exec(html)![1]!;
    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = await browser.submitForm(html, step.url, { formSelector: 'code-form', fields: { code: wrongCode } });
    expect(wrong.status).toBe(400);
    expect(await getText(wrong)).toContain('The security code is not right');
    const right = await browser.submitForm(html, step.url, { formSelector: 'code-form', fields: { code } });
    expect(right.status).toBe(303);
    const reuse = await browser.submitForm(html, step.url, { formSelector: 'code-form', fields: { code } });
    expect(reuse.status).not.toBe(303);
  });

  it('an authorization request without PKCE is refused', async () => {
    const config = await brokerClient(s.stub);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: s.redirectUri,
      scope: 'openid',
      state: 'st',
      nonce: 'n',
      vtr: '["Cl.P1"]',
    });
    const res = await new BrowserClient().fetch(url);
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin + to.pathname).toBe(s.redirectUri);
    expect(to.searchParams.get('error')).toBe('invalid_request');
    expect(to.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('plain PKCE is refused', async () => {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { code_challenge_method: 'plain', vtr: '["Cl.P1"]' });
    const res = await new BrowserClient().fetch(req.url);
    const to = new URL(res.headers.get('location')!);
    expect(to.searchParams.get('error')).toBe('invalid_request');
  });

  it('a client other than the broker is refused', async () => {
    const url = new URL(`${s.stub.url}/auth`);
    url.search = new URLSearchParams({
      client_id: 'some-service',
      redirect_uri: 'http://127.0.0.1:9/callback',
      response_type: 'code',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const res = await new BrowserClient().fetch(url);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await getText(res)).toContain('invalid_client');
  });

  it('a redirect URI other than the registered one is refused', async () => {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, 'http://127.0.0.1:9/idp/other/callback', { vtr: '["Cl.P1"]' });
    const res = await new BrowserClient().fetch(req.url);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('a bad vtr is refused with invalid_request', async () => {
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.P2"]' });
    const res = await new BrowserClient().fetch(req.url);
    const to = new URL(res.headers.get('location')!);
    expect(to.searchParams.get('error')).toBe('invalid_request');
    expect(to.searchParams.get('error_description')).toMatch(/needs authentication of at least Cl.Cm/);
  });

  it('the token endpoint refuses a client assertion signed by another key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    expect(jwk.kty).toBe('EC');
    const config = await brokerClient(s.stub, 'identity-broker', { key: privateKey as CryptoKey, kid: 'broker-idp-client-dev-1' });
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.P1"]' });
    const back = await signInAtStub(new BrowserClient(), req.url, { username: 'margaret', password: 'demo-password' });
    await expect(
      client.authorizationCodeGrant(config, back, { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce }),
    ).rejects.toMatchObject({ error: 'invalid_client' });
  });
});
