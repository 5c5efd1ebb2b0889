/** What services and operators see of the broker: discovery, PAR, JWKS, health, readiness. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createBrokerClient } from '@idbroker/relying-party-sdk';
import { defaultPoliciesDir } from '@idbroker/policies';
import { startFederation, type Federation } from '../support/federation.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { Citizen } from '../support/citizen.js';
import { BrowserClient } from '../support/browser-client.js';
import { auditOutage } from '../support/audit-outage.js';

describe('the broker towards services and operators', () => {
  let fed: Federation;
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
    fed = await startFederation({ redisUrl: redis.url, idps: ['civic-id'] });
  });
  afterAll(async () => {
    await fed?.close();
    await redis?.destroy();
  });

  it('discovery tells the truth', async () => {
    const meta = (await (await fetch(`${fed.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(fed.issuer);
    expect(meta.subject_types_supported).toEqual(['pairwise']);
    expect(meta.claims_parameter_supported).toBe(true);
    expect(meta.trust_frameworks_supported).toEqual(['uk_diatf']);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.id_token_signing_alg_values_supported).toEqual(['ES256']);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
    expect(meta.pushed_authorization_request_endpoint).toBeTruthy();
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.acr_values_supported).toEqual(expect.arrayContaining(['Cl.Cm.P2', 'http://eidas.europa.eu/LoA/substantial']));
    expect(meta.vtr_supported).toEqual(expect.arrayContaining(['Cl.P1', 'Cl.Cm.P2', 'Cl.Cm.Cp.P3']));
    expect(meta.vtr_supported).not.toContain('Cl.P2');
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'address', 'email', 'phone']));
    // Every attribute a service may be permitted is one discovery says can be asked for.
    expect(meta.claims_in_verified_claims_supported).toEqual(expect.arrayContaining(['given_name', 'family_name', 'birthdate', 'address', 'email', 'phone_number']));
    const jwks = (await (await fetch(String(meta.jwks_uri))).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key.kid).toBeTruthy();
      expect(key.d).toBeUndefined();
    }
  });

  it('ui_locales from the service chooses the language of the broker pages (and goes on to the IdP)', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], extra: { ui_locales: 'cy en' } });
    expect(citizen.html).toContain('<html lang="cy"');
    expect(citizen.html).toContain('Dewiswch sut i brofi pwy ydych chi');
    const idpUrl = await citizen.choose('civic-id');
    expect(idpUrl.searchParams.get('ui_locales')).toBe('cy');
  });

  it('standard scopes ask for attributes: released verified, inside verified_claims, never as plain claims', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: [], extra: { scope: 'openid profile' } });
    await citizen.verifyWith('civic-id', 'margaret');
    expect(citizen.html).toContain('14 March 1958'); // the consent page shows what profile asks for
    expect(await citizen.consent('approve')).toMatchObject({ kind: 'service' });
    const { claims, userinfo } = await citizen.collect();
    const verified = claims.verified_claims as { claims: Record<string, unknown> };
    expect(Object.keys(verified.claims).sort()).toEqual(['birthdate', 'family_name', 'given_name']);
    expect(verified.claims.given_name).toBe('Margaret');
    for (const plain of ['given_name', 'family_name', 'birthdate', 'address']) {
      expect(claims[plain]).toBeUndefined();
      expect(userinfo[plain]).toBeUndefined();
    }
  });

  it('a scope for an attribute the service may not have is voluntary: the journey goes on, and it is neither asked for nor released (issue 13)', async () => {
    const citizen = new Citizen(fed);
    const landing = await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: [], extra: { scope: 'openid email' } });
    expect(landing).toMatchObject({ kind: 'page', status: 200 });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const { claims, userinfo } = await citizen.collect();
    expect(claims.email).toBeUndefined();
    expect(userinfo.email).toBeUndefined();
    expect((claims.verified_claims as { claims?: Record<string, unknown> } | undefined)?.claims?.email).toBeUndefined();
  });

  it('a service can push its request first (PAR) and complete the journey', async () => {
    const privateKey = JSON.parse(readFileSync(resolve(defaultPoliciesDir, 'dev-keys/example-service.private.jwk.json'), 'utf8'));
    const client = await createBrokerClient({ issuer: fed.issuer, clientId: 'example-council-tax', redirectUri: 'http://localhost:3200/callback', privateKey, allowInsecureRequests: true });
    const { url: href, transaction } = await client.startLogin({ vtr: 'Cl.Cm.P2', attributes: ['given_name'], usePar: true });
    const url = new URL(href);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(url.searchParams.get('claims')).toBeNull();
    const citizen = new Citizen(fed);
    citizen.service = await fed.service();
    await citizen.visit(url);
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const back = citizen.current as { kind: string; url: URL };
    expect(back.kind).toBe('service');
    const identity = await client.handleCallback(back.url, transaction);
    expect(identity.attributes.given_name).toBe('Margaret');
    expect(identity.level).toBe('Cl.Cm.P2');
  });

  it('"remember my choice" is kept only in the citizen\'s browser, and preselects the provider next time', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.choose('civic-id', { remember: 'yes' });
    const remembered = citizen.browser.cookies().find((c) => c.name === 'idb_provider');
    expect(remembered).toMatchObject({ value: 'civic-id', httpOnly: true });
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    expect(citizen.html).toMatch(/value="civic-id"[^>]*checked|checked[^>]*value="civic-id"/);
    const fresh = new Citizen(fed);
    await fresh.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    expect(fresh.html).not.toMatch(/value="civic-id"[^>]*checked/);
  });

  it('fails closed when only the audit append fails: the consent transition is not taken and nothing is released', async () => {
    const broker = fed.brokers[0]!;
    const deliveries = async () => {
      let n = 0;
      for await (const { key } of broker.store.dump()) if (key.startsWith('delivery:')) n++;
      return n;
    };
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    expect(citizen.html).toContain('Margaret');
    const consentPage = (citizen.current as { url: string }).url;
    const journeyRef = (await broker.audit.list({ limit: 1000 })).filter((e) => e.type === 'journey.idpReturned').at(-1)!.journey!;
    const journeyEvents = async () => (await broker.audit.list({ journey: journeyRef })).map((e) => e.type);
    const eventsBefore = await journeyEvents();
    const deliveriesBefore = await deliveries();

    // The store works (the journey and the interaction load); only the audit trail refuses writes.
    const outage = auditOutage(broker.store);
    try {
      const landing = await citizen.consent('approve');
      expect(landing).toMatchObject({ kind: 'page', status: 500 });
      expect(citizen.html).toContain('Sorry, there is a problem with this service');
      expect(outage.refused).toBeGreaterThan(0);
    } finally {
      outage.end();
    }
    expect(await deliveries()).toBe(deliveriesBefore); // nothing released
    expect(await journeyEvents()).toEqual(eventsBefore);
    expect(await broker.audit.verify()).toMatchObject({ ok: true });

    // The journey is still waiting for consent: the page comes back, and consent now completes it.
    await citizen.visit(consentPage);
    expect(citizen.html).toContain('Margaret');
    expect(await citizen.consent('approve')).toMatchObject({ kind: 'service' });
    const { claims, userinfo } = await citizen.collect();
    expect(JSON.stringify([claims, userinfo])).toContain('Margaret');
    expect(await journeyEvents()).toEqual(expect.arrayContaining(['journey.consentGiven', 'journey.delivered']));
  });

  // (With the whole store down the step fails as it loads the journey, before any audit write:
  // the test above is the one that proves audit failures are not swallowed.)
  it('fails closed: with the store (and so the audit trail) unreachable, consent releases nothing', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    await redis.stop();
    try {
      const landing = await citizen.consent('approve');
      expect(landing).toMatchObject({ kind: 'page', status: 500 });
      expect(citizen.html).toContain('Sorry, there is a problem with this service');
      expect(citizen.html).toMatch(/Error reference: [0-9a-f-]{36}/);
    } finally {
      await redis.restart();
    }
  });

  it('/healthz answers while the process lives; /readyz follows the store', async () => {
    const browser = new BrowserClient();
    expect((await browser.fetch(`${fed.issuer}/healthz`)).status).toBe(200);
    const ready = await browser.fetch(`${fed.issuer}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', store: 'redis' });
    await redis.stop();
    try {
      expect((await browser.fetch(`${fed.issuer}/readyz`)).status).toBe(503);
      expect((await browser.fetch(`${fed.issuer}/healthz`)).status).toBe(200);
    } finally {
      await redis.restart();
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await browser.fetch(`${fed.issuer}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});
