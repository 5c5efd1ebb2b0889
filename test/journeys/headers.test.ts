/**
 * What the broker says in its response headers (issue 13): discovery that no request header can
 * change, caching of discovery and the JWKS, CORS only where a browser needs it, and HSTS in
 * production mode.
 */
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { exportJWK, generateKeyPair } from 'jose';
import { createBroker, parseConfig, type Broker } from '@idbroker/broker';
import { startFederation, type Federation } from '../support/federation.js';
import { testPolicies, type TestPolicies } from '../support/policies.js';
import { freePort } from '../support/ports.js';

/** A GET with exactly these headers (Host included, which fetch cannot set). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'pushed_authorization_request_endpoint', 'jwks_uri', 'support_case_endpoint'];

function maxAge(cacheControl: string | null | undefined): number {
  const m = /(?:^|,)\s*max-age=(\d+)/.exec(cacheControl ?? '');
  return m ? Number(m[1]) : -1;
}

describe('discovery, JWKS and CORS', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id'] });
  });
  afterAll(() => fed?.close());

  it.each([
    ['another Host', { host: 'evil.example' }],
    ['X-Forwarded-Host and -Proto', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }],
    ['both', { host: 'evil.example:8443', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil.example;proto=https' }],
  ])('(2) %s changes nothing in discovery: every URL is the issuer\'s', async (_name, headers) => {
    {
      const res = await rawGet(`${fed.issuer}/.well-known/openid-configuration`, headers);
      expect(res.status).toBe(200);
      const meta = JSON.parse(res.body) as Record<string, unknown>;
      expect(meta.issuer).toBe(fed.issuer);
      for (const name of ENDPOINTS) expect(String(meta[name]), name).toBe(`${fed.issuer}${new URL(String(meta[name])).pathname}`);
      expect(res.body).not.toContain('evil.example');
    }
  });

  it('(2) a broker that trusts its proxy still names only its issuer\'s URLs', async () => {
    await fed.restartBroker(0, { trustProxy: true });
    const res = await rawGet(`${fed.issuer}/.well-known/openid-configuration`, { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
    const meta = JSON.parse(res.body) as Record<string, unknown>;
    for (const name of ENDPOINTS) expect(new URL(String(meta[name])).origin, name).toBe(fed.issuer);
    await fed.restartBroker(0, { trustProxy: false });
  });

  it('discovery and the JWKS may be cached (briefly: keys rotate), and are open to any origin for browsers', async () => {
    for (const path of ['/.well-known/openid-configuration', '/jwks']) {
      const res = await fetch(`${fed.issuer}${path}`, { headers: { origin: 'https://spa.example' } });
      expect(res.status).toBe(200);
      const cc = res.headers.get('cache-control');
      expect(cc, path).toMatch(/\bpublic\b/);
      expect(maxAge(cc), path).toBeGreaterThanOrEqual(60);
      expect(maxAge(cc), path).toBeLessThanOrEqual(3600);
      expect(res.headers.get('access-control-allow-origin'), path).toMatch(/^(\*|https:\/\/spa\.example)$/);
      await res.body?.cancel();
    }
  });

  it('no browser may call the token, PAR or userinfo endpoints cross-origin (services call them from their servers)', async () => {
    for (const path of ['/token', '/request', '/me']) {
      const preflight = await fetch(`${fed.issuer}${path}`, { method: 'OPTIONS', headers: { origin: 'http://localhost:3200', 'access-control-request-method': 'POST' } });
      await preflight.body?.cancel();
      const res = await fetch(`${fed.issuer}${path}`, {
        method: 'POST',
        headers: { origin: 'http://localhost:3200', 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer nothing' },
        body: path === '/me' ? '' : 'client_id=example-council-tax&grant_type=authorization_code&code=x',
      });
      await res.body?.cancel();
      expect(res.headers.get('access-control-allow-origin'), `${path} answer`).toBeNull();
      expect(res.status, path).toBeGreaterThanOrEqual(400);
    }
  });

  it('no HSTS outside production mode (the local federation is plain http)', async () => {
    const res = await fetch(`${fed.issuer}/.well-known/openid-configuration`);
    await res.body?.cancel();
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });
});

describe('(3) a production broker', () => {
  const issuer = 'https://broker.example.test';
  let broker: Broker | undefined;
  let base = '';
  let policies: TestPolicies;
  beforeAll(async () => {
    const key = async (kid: string) => ({ ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)), kid, alg: 'ES256' });
    const https = (id: string) => ({ issuer: `https://${id}.idp.example.test`, broker_client: { client_id: 'identity-broker', private_key: { file: 'dev-keys/prod-client.private.jwk.json' } } });
    policies = testPolicies({
      idps: { 'civic-id': https('civic-id'), 'swift-verify': https('swift-verify'), 'community-vouch': https('community-vouch') },
      files: { 'dev-keys/prod-client.private.jwk.json': JSON.stringify(await key('prod-client-1')) },
    });
    const port = await freePort();
    const config = parseConfig({
      issuer,
      port,
      production: true,
      trustProxy: true,
      redisUrl: inject('redisUrl'),
      keyPrefix: `hsts${Math.random().toString(36).slice(2, 8)}:`,
      policiesDir: policies.dir,
      secret: 'a-long-random-secret-for-production-use-0123',
      signingKeys: [await key('prod-signing-1')],
      auditCheckpointKeys: [await key('prod-audit-1')],
      metricsToken: 'a-long-random-metrics-token-0123',
      allowInsecureIdps: false,
      health: { intervalMs: 600_000, timeoutMs: 1_000 },
    });
    broker = await createBroker(config, { logDestination: new Writable({ write: (_c, _e, cb) => cb() }) });
    base = await broker.listen(port);
  });
  afterAll(async () => {
    await broker?.close();
    policies?.remove();
  });

  it.each([
    ['discovery (oidc-provider)', '/.well-known/openid-configuration', 200],
    ['the JWKS', '/jwks', 200],
    ['a broker page', '/support/case', 200],
    ['an error page', '/journey/nothing-here', 400],
    ['an authorization error', '/auth?client_id=nobody', 400],
    ['health', '/healthz', 200],
  ])('sends Strict-Transport-Security on %s', async (_name, path, status) => {
    const res = await fetch(`${base}${path}`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' }, redirect: 'manual' });
    await res.body?.cancel();
    expect(res.status).toBe(status);
    const hsts = res.headers.get('strict-transport-security') ?? '';
    expect(hsts).toMatch(/max-age=(\d+)/);
    expect(Number(/max-age=(\d+)/.exec(hsts)![1])).toBeGreaterThanOrEqual(31_536_000);
    expect(hsts).toContain('includeSubDomains');
  });
});
