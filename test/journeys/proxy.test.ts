/**
 * Behind a proxy (issue 8, production mode): the broker believes X-Forwarded-* only when
 * TRUST_PROXY says so, and every cookie it sets is Secure when the citizen's browser reaches
 * it over https (an https issuer, or a trusted proxy saying so).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker, type BrokerConfig } from '@idbroker/broker';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { BrowserClient, getText } from '../support/browser-client.js';
import { freePort } from '../support/ports.js';

const VIA_HTTPS = { 'x-forwarded-proto': 'https' };
/**
 * Cookies set at the start of a journey: oidc-provider's interaction cookies, the language, the
 * remembered provider, the current journey, the browser's binding to the journey at the IdP (idb_idp_<state hash>), the
 * case lookup's CSRF token.
 */
const JOURNEY_COOKIES = ['_interaction', '_interaction.sig', '_interaction_resume', '_interaction_resume.sig', 'idb_case_csrf', 'idb_idp', 'idb_journey', 'idb_provider', 'lang'];

const nameOf = (line: string) => line.slice(0, line.indexOf('=')).replace(/^idb_idp_.+$/, 'idb_idp');
const isSecure = (line: string) => line.split(';').slice(1).some((a) => a.trim().toLowerCase() === 'secure');

/**
 * The start of a journey at broker `base`, every request carrying `headers`: the authorization
 * request, the picker in Welsh, choosing a provider and remembering it, the case lookup page.
 * Returns each Set-Cookie line by cookie name, and the status of each step.
 */
async function journeyStart(fed: Federation, base: string, headers: Record<string, string>) {
  const browser = new BrowserClient({ headers });
  const cookies = new Map<string, string>();
  const keep = (res: Response) => res.headers.getSetCookie().forEach((line) => cookies.set(nameOf(line), line));
  const tx = await (await fed.service()).begin({ vtr: ['Cl.Cm.P2'] });
  const start = await browser.fetch(new URL(tx.url.pathname + tx.url.search, base));
  keep(start);
  await start.body?.cancel();
  const picker = new URL(start.headers.get('location') ?? '/', base);
  picker.searchParams.set('lang', 'cy');
  const page = await browser.fetch(picker);
  keep(page);
  const html = await getText(page);
  const choice = await browser.submitForm(html, picker, { formSelector: 'provider', fields: { provider: 'civic-id', remember: 'yes' } });
  keep(choice);
  await choice.body?.cancel();
  const lookup = await browser.fetch(new URL('/support/case', base));
  keep(lookup);
  await lookup.body?.cancel();
  return { cookies, statuses: { start: start.status, picker: page.status, choice: choice.status, lookup: lookup.status } };
}

const STARTED = { start: 303, picker: 200, choice: 303, lookup: 200 };

let reference = 0;
/**
 * Case lookups at `base`, one for each entry of `forwardedFor` (the X-Forwarded-For header sent,
 * or undefined for none), each for a different reference. Returns the statuses.
 */
async function lookups(base: string, forwardedFor: Array<string | undefined>): Promise<number[]> {
  const browser = new BrowserClient();
  const page = await browser.fetch(new URL('/support/case', base));
  await page.body?.cancel();
  const csrf = browser.cookie(new URL('/support/case', base), 'idb_case_csrf');
  expect(csrf).toBeDefined();
  const statuses: number[] = [];
  for (const xff of forwardedFor) {
    const res = await browser.fetch(new URL('/support/case', base), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(xff ? { 'x-forwarded-for': xff } : {}) },
      body: new URLSearchParams({ csrf: csrf!, reference: `ZZZZ-ZZZZ-${String(++reference).padStart(4, '0')}-Z` }).toString(),
    });
    await res.body?.cancel();
    statuses.push(res.status);
  }
  return statuses;
}
const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
/** Ten lookups answered (the reference is not found), then refused. */
const NOT_FOUND_TEN = times(10, () => 404);

/** What the broker advertises, asked with forwarded headers naming another host and scheme. */
async function discovery(base: string, forwardedHost = 'evil.example'): Promise<Record<string, unknown>> {
  const res = await fetch(new URL('/.well-known/openid-configuration', base), { headers: { ...VIA_HTTPS, 'x-forwarded-host': forwardedHost } });
  return (await res.json()) as Record<string, unknown>;
}

/** Another broker instance beside the federation's, with configuration changes, on its own port and store. */
async function anotherBroker(fed: Federation, changes: Partial<BrokerConfig>): Promise<{ broker: Broker; url: string }> {
  const port = await freePort();
  const quiet = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const broker = await createBroker({ ...fed.brokers[0]!.config, port, ...changes }, { now: fed.clock.now, logDestination: quiet });
  return { broker, url: await broker.listen(port) };
}

describe('a broker that does not trust a proxy (the default)', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id'] });
    expect(fed.brokers[0]!.config.trustProxy).toBe(false);
  });
  afterAll(() => fed?.close());

  it('X-Forwarded-Proto: https makes no cookie Secure on a plain http connection', async () => {
    const { cookies, statuses } = await journeyStart(fed, fed.issuer, { ...VIA_HTTPS, 'x-forwarded-for': '198.51.100.1', 'x-forwarded-host': 'evil.example' });
    expect(statuses).toEqual(STARTED);
    expect([...cookies.keys()].sort()).toEqual(JOURNEY_COOKIES);
    for (const line of cookies.values()) expect(isSecure(line), line).toBe(false);
  });

  it('a spoofed X-Forwarded-For gets no fresh allowance: case lookups are limited by the connection\'s address', async () => {
    const statuses = await lookups(fed.issuer, [...times(10, (i) => `198.51.100.${i + 10}`), '198.51.100.99', undefined]);
    expect(statuses).toEqual([...NOT_FOUND_TEN, 429, 429]);
  });

  it('forwarded headers do not change the issuer or the endpoints it advertises', async () => {
    const config = await discovery(fed.issuer);
    expect(config.issuer).toBe(fed.issuer);
    expect(String(config.authorization_endpoint)).toBe(`${fed.issuer}/auth`);
  });
});

describe('a broker that trusts the proxy in front (TRUST_PROXY=true)', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id'] });
    await fed.restartBroker(0, { trustProxy: true });
  });
  afterAll(() => fed?.close());

  it('a request the proxy says came over https gets every cookie Secure; one it says came over http does not', async () => {
    const overHttps = await journeyStart(fed, fed.issuer, { ...VIA_HTTPS, 'x-forwarded-for': '203.0.113.1' });
    expect(overHttps.statuses).toEqual(STARTED);
    expect([...overHttps.cookies.keys()].sort()).toEqual(JOURNEY_COOKIES);
    for (const line of overHttps.cookies.values()) expect(isSecure(line), line).toBe(true);

    const overHttp = await journeyStart(fed, fed.issuer, { 'x-forwarded-proto': 'http', 'x-forwarded-for': '203.0.113.2' });
    expect(overHttp.statuses).toEqual(STARTED);
    for (const line of overHttp.cookies.values()) expect(isSecure(line), line).toBe(false);
  });

  it('distinct X-Forwarded-For addresses are limited separately', async () => {
    expect(await lookups(fed.issuer, times(11, () => '203.0.113.10'))).toEqual([...NOT_FOUND_TEN, 429]);
    expect(await lookups(fed.issuer, ['203.0.113.11', '203.0.113.10'])).toEqual([404, 429]);
  });

  it('only the address the proxy saw counts: what a client puts before it in X-Forwarded-For gives no fresh allowance', async () => {
    // The proxy appends the address it saw (nginx: $proxy_add_x_forwarded_for) to whatever the client sent.
    const statuses = await lookups(fed.issuer, [...times(11, (i) => `192.0.2.${i + 1}, 203.0.113.20`), '203.0.113.20']);
    expect(statuses).toEqual([...NOT_FOUND_TEN, 429, 429]);
  });

  it('the issuer and every endpoint it advertises stay the configured ones, whatever scheme and host the proxy reports (issue 13)', async () => {
    const config = await discovery(fed.issuer, 'broker.example');
    expect(config.issuer).toBe(fed.issuer);
    expect(config.authorization_endpoint).toBe(`${fed.issuer}/auth`);
    expect(config.jwks_uri).toBe(`${fed.issuer}/jwks`);
  });
});

describe('a whole journey through a TLS-terminating proxy (an https issuer, TRUST_PROXY=true)', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id'], issuerScheme: 'https' });
    await fed.restartBroker(0, { trustProxy: true });
  });
  afterAll(() => fed?.close());

  it('a whole journey through a TLS-terminating proxy completes, and every cookie the broker sets on the way is Secure', async () => {
    const citizen = new Citizen(fed);
    const broker = new URL(fed.issuer).host;
    expect(fed.issuer).toMatch(/^https:/);
    const lines: string[] = [];
    const fetchOnce = citizen.browser.fetch.bind(citizen.browser);
    // The proxy: the browser speaks https to it; it forwards over http, saying so in X-Forwarded-*.
    citizen.browser.fetch = async (url, init = {}) => {
      const target = new URL(url);
      if (target.host !== broker) return fetchOnce(url, init);
      const viaProxy = target.protocol === 'https:';
      target.protocol = 'http:';
      const headers = new Headers(init.headers);
      headers.set('x-forwarded-proto', viaProxy ? 'https' : 'http');
      headers.set('x-forwarded-for', '203.0.113.3');
      const res = await fetchOnce(target, { ...init, headers });
      lines.push(...res.headers.getSetCookie());
      return res;
    };
    // The service sends the citizen to the broker's public https address (its issuer).
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    expect(claims.txn).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/);
    expect(lines.map(nameOf)).toEqual(expect.arrayContaining(['_interaction', '_interaction_resume', '_session']));
    for (const line of lines) expect(isSecure(line), line).toBe(true);
  });
});

describe('an https issuer (production mode requires one)', () => {
  const issuer = 'https://broker.example.test';
  let fed: Federation;
  const others: Broker[] = [];
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id'] });
    await fed.service();
  });
  afterAll(async () => {
    await Promise.allSettled(others.map((b) => b.close()));
    await fed?.close();
  });

  it('every cookie is Secure, even when the proxy in front is not trusted and the hop from it is plain http', async () => {
    const { broker, url } = await anotherBroker(fed, { issuer, trustProxy: false });
    others.push(broker);
    const { cookies, statuses } = await journeyStart(fed, url, {});
    expect(statuses).toEqual(STARTED);
    expect([...cookies.keys()].sort()).toEqual(JOURNEY_COOKIES);
    for (const line of cookies.values()) expect(isSecure(line), line).toBe(true);
  });

  it('behind a trusted proxy, every cookie is Secure', async () => {
    const { broker, url } = await anotherBroker(fed, { issuer, trustProxy: true });
    others.push(broker);
    const { cookies, statuses } = await journeyStart(fed, url, { ...VIA_HTTPS, 'x-forwarded-for': '203.0.113.30' });
    expect(statuses).toEqual(STARTED);
    expect([...cookies.keys()].sort()).toEqual(JOURNEY_COOKIES);
    for (const line of cookies.values()) expect(isSecure(line), line).toBe(true);
  });
});
