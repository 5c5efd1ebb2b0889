/**
 * No side channel between provider and service (issue 12, point 1), tried as an observer would:
 * - a provider sees the same authorization request whatever the service (apart from state,
 *   nonce and PKCE): the broker asks every provider for the federation's standard attribute set,
 *   with ui_locales the language the person chose (never what, or whether, the service sent);
 * - the service sees the same thing whatever the provider: its view of a journey (ID token without
 *   the per-journey claims, userinfo), the metrics a service or the public could be shown, and
 *   `vot`, capped to the strongest vector the service asked for that the achieved level meets;
 * - /performance publishes closed days only, so a journey of today moves nothing on it;
 * - no metric series carries both a provider and a service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederation, DEMO_PASSWORD, type Federation } from '../support/federation.js';
import { SECOND_SERVICE } from '../support/policies.js';
import { SoftwareAuthenticator } from '@idbroker/idp-stub/testing';
import { Citizen } from '../support/citizen.js';
import { registerPasskeyAtStub, signInAtStub } from '../support/idp-stub-driver.js';
import { BrowserClient } from '../support/browser-client.js';

const VOTER = 'example-voter-registration';
const VOTER_CALLBACK = 'http://localhost:3300/callback';

/** Each sample line of the Prometheus text format, parsed. */
function series(text: string): Array<{ name: string; labels: Record<string, string>; line: string }> {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const name = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/)![0];
      const inner = line.includes('{') ? line.slice(line.indexOf('{') + 1, line.lastIndexOf('}')) : '';
      const labels = Object.fromEntries([...inner.matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name, labels, line };
    });
}

/**
 * The part of /metrics that may be shown to a service or to the public: every series except those
 * by provider only (an operator's view), and except the process's own gauges and the latency histogram's timings (they
 * measure the machine, not the journey; the histogram's request counts stay in).
 */
function serviceVisible(text: string): string[] {
  return series(text)
    .filter((s) => !('idp' in s.labels) || 'service' in s.labels)
    .filter((s) => !/^(broker_process_|broker_nodejs_)/.test(s.name))
    .filter((s) => !/^broker_http_request_duration_seconds_(bucket|sum)$/.test(s.name))
    .map((s) => s.line);
}

/** What changed between two scrapes of the service-visible part: series and how much each moved. */
function moved(before: string[], after: string[]): string[] {
  const value = (l: string) => Number(l.slice(l.lastIndexOf(' ') + 1));
  const key = (l: string) => l.slice(0, l.lastIndexOf(' '));
  const old = new Map(before.map((l) => [key(l), value(l)]));
  return after.map((l) => `${key(l)} +${value(l) - (old.get(key(l)) ?? 0)}`).filter((l) => !l.endsWith(' +0')).sort();
}

/** The service's view of a journey, without what differs from one journey to the next anyway. */
function serviceView(result: { idToken: string; claims: Record<string, unknown>; userinfo: Record<string, unknown> }): string {
  const header = JSON.parse(Buffer.from(result.idToken.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
  const perJourney = ['sub', 'txn', 'iat', 'exp', 'nonce', 'auth_time', 'at_hash'];
  const claims = Object.fromEntries(Object.entries(result.claims).filter(([k]) => !perJourney.includes(k)).sort(([a], [b]) => a.localeCompare(b)));
  const userinfo = Object.fromEntries(Object.entries(result.userinfo).filter(([k]) => k !== 'sub'));
  return JSON.stringify({ header, claims, userinfo });
}

describe('no side channel between provider and service', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({
      policyChanges: { extraRps: { [VOTER]: SECOND_SERVICE } },
    });
  });
  afterAll(() => fed?.close());

  const scrape = async () => (await fetch(`${fed.issuer}/metrics`)).text();

  it('no metric series carries both a provider and a service', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    await citizen.collect();
    const all = series(await scrape());
    // The journey was counted by provider and by service...
    expect(all.some((s) => s.labels.idp === 'civic-id' && /journeys/.test(s.name))).toBe(true);
    expect(all.some((s) => s.labels.service === 'example-council-tax' && /journeys_finished/.test(s.name))).toBe(true);
    // ...never both in one series.
    expect(all.filter((s) => 'idp' in s.labels && 'service' in s.labels).map((s) => s.line)).toEqual([]);
  });

  it('two services asking for different attributes send identical requests to the provider, apart from state, nonce and PKCE', async () => {
    const requestAt = async (clientId: string, redirectUri: string, attributes: string[]) => {
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(clientId, redirectUri), { vtr: ['Cl.Cm.P2'], attributes });
      return citizen.choose('civic-id');
    };
    const council = await requestAt('example-council-tax', 'http://localhost:3200/callback', ['given_name', 'family_name', 'birthdate', 'address']);
    const voter = await requestAt(VOTER, VOTER_CALLBACK, ['given_name']);
    const shape = (url: URL) => {
      const params = new URLSearchParams(url.searchParams);
      for (const p of ['state', 'nonce', 'code_challenge']) {
        expect(params.get(p), p).toBeTruthy();
        params.delete(p);
      }
      params.sort();
      return `${url.origin}${url.pathname}?${params}`;
    };
    expect(council.searchParams.get('state')).not.toBe(voter.searchParams.get('state'));
    expect(shape(voter)).toBe(shape(council));
    // The attributes asked for are the federation's standard set, not either service's list.
    const claims = JSON.parse(voter.searchParams.get('claims')!) as { id_token: { verified_claims: { claims: Record<string, null> } } };
    expect(Object.keys(claims.id_token.verified_claims.claims).sort()).toEqual(fed.brokers[0]!.policies.broker.identity_provider_request.attributes.slice().sort());
  });

  it('ui_locales sent to the provider is the language the person chose, whatever the service sent (or did not send)', async () => {
    /** Start at a service (with or without ui_locales), maybe switch language in the picker, choose Civic ID. */
    const requestAt = async (serviceLocales: string | undefined, switchTo: 'en' | 'cy' | undefined) => {
      const citizen = new Citizen(fed);
      const clientId = serviceLocales === 'cy' ? VOTER : 'example-council-tax';
      const redirectUri = clientId === VOTER ? VOTER_CALLBACK : 'http://localhost:3200/callback';
      await citizen.start(await fed.service(clientId, redirectUri), { vtr: ['Cl.Cm.P2'], ...(serviceLocales ? { extra: { ui_locales: serviceLocales } } : {}) });
      if (switchTo) {
        const picker = new URL((citizen.current as { url: string }).url);
        picker.searchParams.set('lang', switchTo);
        await citizen.visit(picker);
      }
      const url = await citizen.choose('civic-id');
      const params = new URLSearchParams(url.searchParams);
      for (const p of ['state', 'nonce', 'code_challenge']) params.delete(p);
      params.sort();
      return { uiLocales: url.searchParams.get('ui_locales'), shape: `${url.origin}${url.pathname}?${params}` };
    };
    const english = [await requestAt(undefined, undefined), await requestAt('en', undefined), await requestAt('cy', 'en'), await requestAt(undefined, 'en')];
    const welsh = [await requestAt(undefined, 'cy'), await requestAt('cy', undefined), await requestAt('en', 'cy')];
    for (const r of english) expect(r).toEqual({ uiLocales: 'en', shape: english[0]!.shape });
    for (const r of welsh) expect(r).toEqual({ uiLocales: 'cy', shape: welsh[0]!.shape });
    // The two languages differ in ui_locales and nothing else.
    expect(welsh[0]!.shape.replace('ui_locales=cy', 'ui_locales=en')).toBe(english[0]!.shape);
  });

  it('the service is given only what it asked for, and consent shows only that', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(VOTER, VOTER_CALLBACK), { vtr: ['Cl.Cm.P2'], attributes: ['given_name'] });
    await citizen.verifyWith('civic-id', 'margaret');
    // The provider was asked for more (the standard set); the consent page lists what goes to the service.
    expect(citizen.html).toContain('Margaret');
    for (const other of ['Okafor', '1958', 'EX1 2AB']) expect(citizen.html, `consent shows "${other}"`).not.toContain(other);
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    expect(Object.keys((claims.verified_claims as { claims: Record<string, unknown> }).claims)).toEqual(['given_name']);
  });

  it('vot is capped to the strongest vector the service asked for that the achieved level meets', async () => {
    // A passkey at Civic ID reaches Cl.Cm.Cp.P2, which only some providers reach: the service asked for Cl.Cm.P2.
    const authenticator = new SoftwareAuthenticator();
    const citizen = new Citizen(fed);
    await registerPasskeyAtStub(new BrowserClient(), fed.idps['civic-id']!.issuer, { username: 'margaret', password: DEMO_PASSWORD, authenticator });
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2', 'Cl.P1'] });
    const url = await citizen.choose('civic-id');
    const back = await signInAtStub(citizen.browser, url, { username: 'margaret', password: DEMO_PASSWORD, secondFactor: 'passkey', authenticator });
    await citizen.visit(back);
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    expect(claims.vot).toBe('Cl.Cm.P2');
    expect((claims.verified_claims as { verification: Record<string, unknown> }).verification).toEqual({ trust_framework: 'uk_diatf', assurance_level: 'medium' });
    if ('acr' in claims) expect(claims.acr).toBe('Cl.Cm.P2');
  });

  it('a journey through each provider leaves the service view and the service-visible metrics byte for byte the same', async () => {
    const views: Record<string, string> = {};
    const metricMoves: Record<string, string[]> = {};
    for (const idp of ['civic-id', 'swift-verify', 'community-vouch']) {
      const before = serviceVisible(await scrape());
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.P1'] });
      await citizen.verifyWith(idp, 'margaret', undefined);
      await citizen.consent('approve');
      views[idp] = serviceView(await citizen.collect());
      metricMoves[idp] = moved(before, serviceVisible(await scrape()));
    }
    expect(metricMoves['civic-id']!.length).toBeGreaterThan(3); // the journey was counted
    expect(metricMoves['swift-verify']).toEqual(metricMoves['civic-id']);
    expect(metricMoves['community-vouch']).toEqual(metricMoves['civic-id']);
    expect(views['civic-id']).toContain('Okafor'); // the view holds the released attributes
    expect(views['swift-verify']).toBe(views['civic-id']);
    expect(views['community-vouch']).toBe(views['civic-id']);
  });

  it('/performance is not moved by a journey of today', async () => {
    // The page as published, without its per-response CSP nonce.
    const page = async () => (await (await new BrowserClient().fetch(`${fed.issuer}/performance`)).text()).replace(/nonce="[^"]*"/g, 'nonce=""');
    const before = await page();
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('swift-verify', 'dylan');
    await citizen.consent('cancel');
    expect(await page()).toBe(before);
  });
});
