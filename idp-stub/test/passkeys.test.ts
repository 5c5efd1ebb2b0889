import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, getText } from '../../test/support/browser-client.js';
import { registerPasskeyAtStub, signInAtStub, StubPageError } from '../../test/support/idp-stub-driver.js';
import { SoftwareAuthenticator } from '../src/testing/index.js';
import { authRequest, brokerClient, exchange, startStub, type Started } from './helpers.js';

/** Sign in with a password for a Cp request and return the passkey step's page. */
async function toPasskeyStep(s: Started, browser: BrowserClient, username: string) {
  const config = await brokerClient(s.stub);
  const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.Cm.Cp.P2"]' });
  const page = await browser.follow(req.url);
  const res = await browser.submitForm(await getText(page.response), page.url, { formSelector: 'sign-in', fields: { username, password: 'demo-password' } });
  const step = await browser.follow(new URL(res.headers.get('location')!, page.url));
  return { html: await getText(step.response), url: step.url, req, config };
}

async function passkeyAnswer(browser: BrowserClient, step: { html: string; url: string }) {
  const csrf = /id="passkey-form"[\s\S]*?name="csrf" value="([^"]+)"/.exec(step.html)![1]!;
  const res = await browser.fetch(new URL('passkey/options', `${step.url}/`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `csrf=${csrf}`,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('passkeys', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startStub('civic-id');
  });
  afterAll(async () => {
    await s?.stub.close();
  });

  it('registration after password sign-in, then sign-in with the passkey; the counter moves on', async () => {
    const browser = new BrowserClient();
    const authenticator = new SoftwareAuthenticator();
    await registerPasskeyAtStub(browser, s.stub.url, { username: 'margaret', password: 'demo-password', authenticator });
    const stored = s.stub.passkeys.get('margaret')!;
    expect(stored).toHaveLength(1);
    expect(stored[0]!.id).toBe(authenticator.credentials[0]!.id);
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.Cm.Cp.P2"]' });
    const back = await signInAtStub(new BrowserClient(), req.url, { username: 'margaret', password: 'demo-password', secondFactor: 'passkey', authenticator });
    expect((await exchange(config, back, req)).claims()!.acr).toBe('Cl.Cm.Cp.P2');
    expect(s.stub.passkeys.get('margaret')![0]!.counter).toBe(1);
  });

  it('the passkey step says it needs JavaScript, loads only scripts from the stub, and Cp offers no code', async () => {
    const step = await toPasskeyStep(s, new BrowserClient(), 'margaret');
    expect(step.html).toContain('needs JavaScript');
    expect(step.html).not.toContain('id="code-form"');
    expect(step.html).toContain('<script src="/static/simplewebauthn-browser.js" defer></script>');
    expect(step.html).not.toMatch(/<script>(?!<)/);
    for (const path of ['/static/simplewebauthn-browser.js', '/static/passkey.js', '/static/style.css']) {
      const res = await fetch(`${s.stub.url}${path}`);
      expect(res.status, path).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(100);
    }
  });

  it('a Cp request cannot be met with a one-time code', async () => {
    const authenticator = new SoftwareAuthenticator();
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.Cm.Cp.P2"]' });
    await expect(signInAtStub(new BrowserClient(), req.url, { username: 'dylan', password: 'demo-password', secondFactor: 'code', authenticator })).rejects.toThrow(StubPageError);
  });

  it('sign-in fails from a wrong origin', async () => {
    const authenticator = new SoftwareAuthenticator();
    await registerPasskeyAtStub(new BrowserClient(), s.stub.url, { username: 'priya', password: 'demo-password', authenticator });
    const browser = new BrowserClient();
    const step = await toPasskeyStep(s, browser, 'priya');
    const options = await passkeyAnswer(browser, step);
    const answer = authenticator.authenticate(options, 'http://evil.example');
    const res = await browser.submitForm(step.html, step.url, { formSelector: 'passkey-form', fields: { response: JSON.stringify(answer) } });
    expect(res.status).toBe(400);
    expect(await getText(res)).toContain('Your passkey could not be used');
    // the same browser, the right origin, a fresh challenge: accepted
    const again = await passkeyAnswer(browser, step);
    const ok = await browser.submitForm(step.html, step.url, {
      formSelector: 'passkey-form',
      fields: { response: JSON.stringify(authenticator.authenticate(again, new URL(s.stub.url).origin)) },
    });
    expect(ok.status).toBe(303);
  });

  it('sign-in fails with a credential that is not registered, or without user verification', async () => {
    const registered = new SoftwareAuthenticator();
    await registerPasskeyAtStub(new BrowserClient(), s.stub.url, { username: 'sam', password: 'demo-password', authenticator: registered });
    const browser = new BrowserClient();
    const step = await toPasskeyStep(s, browser, 'sam');
    const origin = new URL(s.stub.url).origin;

    // a passkey made by another authenticator, never registered here
    const stranger = new SoftwareAuthenticator();
    stranger.register({ rp: { id: '127.0.0.1' }, user: { id: 'eA' }, challenge: 'AAAA', pubKeyCredParams: [{ alg: -7, type: 'public-key' }] }, origin);
    const options = await passkeyAnswer(browser, step);
    const unregistered = stranger.authenticate(options, origin, stranger.credentials[0]);
    const r1 = await browser.submitForm(step.html, step.url, { formSelector: 'passkey-form', fields: { response: JSON.stringify(unregistered) } });
    expect(r1.status).toBe(400);

    registered.userVerified = false;
    const options2 = await passkeyAnswer(browser, step);
    const r2 = await browser.submitForm(step.html, step.url, {
      formSelector: 'passkey-form',
      fields: { response: JSON.stringify(registered.authenticate(options2, origin)) },
    });
    expect(r2.status).toBe(400);

    // a replayed answer (challenge already used) is refused too
    registered.userVerified = true;
    const options3 = await passkeyAnswer(browser, step);
    const good = JSON.stringify(registered.authenticate(options3, origin));
    await passkeyAnswer(browser, step); // a new challenge replaces the old one
    const r3 = await browser.submitForm(step.html, step.url, { formSelector: 'passkey-form', fields: { response: good } });
    expect(r3.status).toBe(400);
  });

  it('registration needs the password first, and a wrong origin cannot register', async () => {
    const browser = new BrowserClient();
    const first = await browser.follow(`${s.stub.url}/passkeys`);
    const html = await getText(first.response);
    expect(html).toContain('Sign in to set up a passkey');
    const wrong = await browser.submitForm(html, first.url, { formSelector: 'sign-in', fields: { username: 'dylan', password: 'nope' } });
    expect(wrong.status).toBe(400);
    const options = await browser.fetch(`${s.stub.url}/passkeys/register/options`, { method: 'POST', body: 'csrf=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(options.status).toBe(403);

    const ok = await browser.submitForm(html, first.url, { formSelector: 'sign-in', fields: { username: 'dylan', password: 'demo-password' } });
    expect(ok.status).toBe(303);
    const page = await browser.follow(new URL(ok.headers.get('location')!, first.url));
    const regHtml = await getText(page.response);
    const csrf = /name="csrf" value="([^"]+)"/.exec(regHtml)![1]!;
    const opts = await browser.fetch(`${s.stub.url}/passkeys/register/options`, { method: 'POST', body: `csrf=${csrf}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const answer = new SoftwareAuthenticator().register((await opts.json()) as Record<string, unknown>, 'http://evil.example');
    const res = await browser.submitForm(regHtml, page.url, { formSelector: 'register-form', fields: { response: JSON.stringify(answer) } });
    expect(res.status).toBe(400);
    expect(s.stub.passkeys.get('dylan') ?? []).toHaveLength(0);
  });
});
