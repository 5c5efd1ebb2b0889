import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../test/support/browser-client.js';
import { signInAtStub } from '../../test/support/idp-stub-driver.js';
import { switchesFromEnv } from '../src/index.js';
import { ADMIN_TOKEN, authRequest, brokerClient, claimsFor, exchange, startStub, type Started } from './helpers.js';

async function admin(s: Started, body?: unknown, token = ADMIN_TOKEN): Promise<Response> {
  return fetch(`${s.stub.url}/admin/switches`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('failure switches', () => {
  let s: Started;
  beforeAll(async () => {
    s = await startStub('civic-id');
  });
  afterEach(async () => {
    s.stub.switches = { fail: 'none', delayMs: 0 };
  });
  afterAll(async () => {
    await s?.stub.close();
  });

  it('the admin endpoint reports and sets the switches, and refuses a wrong or missing token', async () => {
    expect(await (await admin(s)).json()).toEqual({ fail: 'none', delayMs: 0 });
    const wrong = await admin(s, { fail: 'deny' }, 'not-the-token');
    expect(wrong.status).toBe(401);
    const none = await fetch(`${s.stub.url}/admin/switches`, { method: 'POST', body: '{"fail":"deny"}' });
    expect(none.status).toBe(401);
    expect(s.stub.switches.fail).toBe('none');
    const bad = await admin(s, { fail: 'explode' });
    expect(bad.status).toBe(400);
    const ok = await admin(s, { fail: 'lower-level', delayMs: 5 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ fail: 'lower-level', delayMs: 5 });
    expect(s.stub.switches).toEqual({ fail: 'lower-level', delayMs: 5 });
  });

  it('switches come from IDP_STUB_FAIL and IDP_STUB_DELAY_MS', () => {
    expect(switchesFromEnv({ IDP_STUB_FAIL: 'fraud', IDP_STUB_DELAY_MS: '250' })).toEqual({ fail: 'fraud', delayMs: 250 });
    expect(switchesFromEnv({})).toEqual({ fail: 'none', delayMs: 0 });
    expect(() => switchesFromEnv({ IDP_STUB_FAIL: 'sometimes' })).toThrow(/fail must be one of/);
  });

  it('healthz answers 200 normally', async () => {
    const res = await fetch(`${s.stub.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('deny: the authorization ends with access_denied at the broker', async () => {
    await admin(s, { fail: 'deny' });
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.P1"]' });
    const back = await signInAtStub(new BrowserClient(), req.url, { username: 'margaret', password: 'demo-password' });
    expect(back.origin + back.pathname).toBe(s.redirectUri);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe(req.state);
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('error: the authorization ends with server_error, and the token endpoint answers 500', async () => {
    const config = await brokerClient(s.stub);
    // a code obtained while the IdP works ...
    const ok = await authRequest(config, s.redirectUri, { vtr: '["Cl.P1"]' });
    const good = await signInAtStub(new BrowserClient(), ok.url, { username: 'margaret', password: 'demo-password' });
    expect(good.searchParams.get('code')).toBeTruthy();
    await admin(s, { fail: 'error' });
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.P1"]' });
    const back = await signInAtStub(new BrowserClient(), req.url, { username: 'margaret', password: 'demo-password' });
    expect(back.searchParams.get('error')).toBe('server_error');
    // ... cannot be exchanged while it fails
    const token = await fetch(`${s.stub.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code' });
    expect(token.status).toBe(500);
    await expect(exchange(config, good, ok)).rejects.toThrow();
  });

  it('down: every endpoint but /admin answers 503, discovery and healthz included', async () => {
    await admin(s, { fail: 'down' });
    for (const path of ['/.well-known/openid-configuration', '/healthz', '/jwks', '/auth?client_id=identity-broker', '/token', '/passkeys']) {
      const res = await fetch(`${s.stub.url}${path}`);
      expect(res.status, path).toBe(503);
    }
    expect((await admin(s)).status).toBe(200);
    await admin(s, { fail: 'none' });
    expect((await fetch(`${s.stub.url}/healthz`)).status).toBe(200);
  });

  it('slow: responses are delayed (a client with a short timeout gives up), /admin is not', async () => {
    await admin(s, { delayMs: 3000 });
    expect((await (await admin(s)).json()).delayMs).toBe(3000);
    await expect(fetch(`${s.stub.url}/healthz`, { signal: AbortSignal.timeout(200) })).rejects.toThrow(/abort|timeout/i);
    await admin(s, { delayMs: 0 });
    expect((await fetch(`${s.stub.url}/healthz`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
  });

  it('lower-level: the confidence reached is one step lower', async () => {
    await admin(s, { fail: 'lower-level' });
    const config = await brokerClient(s.stub);
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.Cm.P2"]', claims: claimsFor(['given_name']) });
    const back = await signInAtStub(new BrowserClient(), req.url, { username: 'margaret', password: 'demo-password' });
    const claims = (await exchange(config, back, req)).claims()!;
    expect(claims.acr).toBe('Cl.Cm.P1');
    expect(claims.vot).toBe('Cl.Cm.P1');
    expect((claims.verified_claims as { verification: { assurance_level: string } }).verification.assurance_level).toBe('low');
  });

  it('fraud: the ID token carries ci fraud.suspected', async () => {
    const config = await brokerClient(s.stub);
    const before = await authRequest(config, s.redirectUri, { vtr: '["Cl.P1"]' });
    const clean = (await exchange(config, await signInAtStub(new BrowserClient(), before.url, { username: 'margaret', password: 'demo-password' }), before)).claims()!;
    expect(clean.ci).toBeUndefined();
    await admin(s, { fail: 'fraud' });
    const req = await authRequest(config, s.redirectUri, { vtr: '["Cl.P1"]' });
    const back = await signInAtStub(new BrowserClient(), req.url, { username: 'margaret', password: 'demo-password' });
    const claims = (await exchange(config, back, req)).claims()!;
    expect(claims.ci).toEqual(['fraud.suspected']);
    expect(claims.acr).toBe('Cl.P1');
  });

  it('every request is recorded (method, path and query, headers, body) for privacy checks', async () => {
    const n = s.stub.requests.length;
    await fetch(`${s.stub.url}/healthz?x=1`);
    const last = s.stub.requests[s.stub.requests.length - 1]!;
    expect(s.stub.requests.length).toBe(n + 1);
    expect(last).toMatchObject({ method: 'GET', url: '/healthz?x=1', body: '' });
  });
});

describe('discovery', () => {
  it('advertises PKCE S256, private_key_jwt, ES256 and the claims parameter', async () => {
    const s = await startStub('community-vouch');
    try {
      const config = await brokerClient(s.stub);
      expect(config.serverMetadata().issuer).toBe(s.stub.issuer);
      expect(config.serverMetadata().code_challenge_methods_supported).toEqual(['S256']);
      expect(config.serverMetadata().claims_parameter_supported).toBe(true);
      expect(config.serverMetadata().token_endpoint_auth_methods_supported).toEqual(['private_key_jwt']);
      expect(config.serverMetadata().id_token_signing_alg_values_supported).toEqual(['ES256']);
    } finally {
      await s.stub.close();
    }
  });
});
