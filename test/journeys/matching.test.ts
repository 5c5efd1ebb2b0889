/**
 * Matching after consent, in Verify's order: match on the verified attributes; one extra
 * detail; account creation where allowed; otherwise no match. A matching endpoint that is
 * down, slow or badly signed is a failure with a way forward, never a silent success.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startExampleService } from '../../relying-party-sdk/examples/council-tax/app.js';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { freePort, listen, sdkMatchingEndpoint, strangerKey, type TestEndpoint } from '../support/matching-service.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function federationWith(matching: { port: number; timeout_ms?: number; account_creation?: boolean; extra_attribute?: string | undefined }) {
  const fed = await startFederation({
    idps: ['civic-id'],
    policyChanges: {
      rps: {
        'example-council-tax': {
          matching: {
            url: `http://127.0.0.1:${matching.port}/matching`,
            timeout_ms: matching.timeout_ms ?? 2000,
            account_creation: matching.account_creation ?? false,
            ...('extra_attribute' in matching ? (matching.extra_attribute ? { extra_attribute: matching.extra_attribute } : {}) : { extra_attribute: 'ni_number' }),
          },
        },
      },
    },
  });
  cleanup.push(() => fed.close());
  return fed;
}

async function withExampleService() {
  const port = await freePort();
  const fed = await federationWith({ port });
  const service = await startExampleService({ port, host: '127.0.0.1', brokerIssuer: fed.issuer, baseUrl: `http://127.0.0.1:${port}` });
  cleanup.push(() => service.close());
  return fed;
}

async function signInAndConsent(fed: Federation, username: string) {
  const citizen = new Citizen(fed);
  await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
  await citizen.verifyWith('civic-id', username);
  await citizen.consent('approve');
  return citizen;
}

describe('matching against the example service records', () => {
  it('match: Margaret is matched to her account, and the service learns the account reference', async () => {
    const fed = await withExampleService();
    const citizen = await signInAndConsent(fed, 'margaret');
    const { claims } = await citizen.collect();
    expect(claims.match).toEqual({ result: 'matched', account_ref: 'CT-100234' });
  });

  it('no match, then one extra detail, then a match: Dylan gives his NI number', async () => {
    const fed = await withExampleService();
    const citizen = await signInAndConsent(fed, 'dylan');
    expect((citizen.current as { url: string }).url).toMatch(/\/extra$/);
    expect(citizen.html).toContain('National Insurance number');
    const invalid = await citizen.giveExtra('not an NI number');
    expect(invalid).toMatchObject({ kind: 'page', status: 400 });
    expect(citizen.html).toContain('govuk-error-summary');
    await citizen.giveExtra('qq 12 34 56 c');
    const { claims } = await citizen.collect();
    expect(claims.match).toEqual({ result: 'matched', account_ref: 'CT-100871' });
  });

  it('final no match: Priya is asked for one more detail, then reaches the no-match page with a way forward', async () => {
    const fed = await withExampleService();
    const citizen = await signInAndConsent(fed, 'priya');
    await citizen.giveExtra('QQ 99 99 99 D');
    expect((citizen.current as { url: string }).url).toMatch(/\/failure$/);
    expect(citizen.html).toContain('could not find your record');
    expect(citizen.html).toContain('0300 123 4567');
    const back = await citizen.press('return');
    const url = (back as { url: URL }).url;
    expect(url.searchParams.get('error_reason')).toBe('no_match');
    expect(url.searchParams.get('code')).toBeNull();
  });
});

describe('matching outcomes from other services', () => {
  it('no match, then an account is created where the service allows it', async () => {
    const port = await freePort();
    const fed = await federationWith({ port, account_creation: true, extra_attribute: undefined });
    const endpoint = await sdkMatchingEndpoint(port, { brokerIssuer: fed.issuer, match: async () => ({ result: 'no-match' }), createAccount: async (who) => ({ accountRef: `NEW-${who.attributes.family_name}` }) });
    cleanup.push(() => endpoint.close());
    const citizen = await signInAndConsent(fed, 'priya');
    const { claims } = await citizen.collect();
    expect(claims.match).toEqual({ result: 'created', account_ref: 'NEW-Shah' });
    expect(endpoint.calls).toBe(2);
  });

  const failures: Array<[string, (port: number, issuer: string) => Promise<TestEndpoint | undefined>, { timeout_ms?: number }]> = [
    ['down (nothing listening)', async () => undefined, {}],
    ['slow (answers after the timeout)', (port) => listen(port, (_req, res) => void setTimeout(() => res.end('late'), 1500)), { timeout_ms: 300 }],
    ['answering with a bad signature', async (port, issuer) => sdkMatchingEndpoint(port, { brokerIssuer: issuer, privateKey: await strangerKey(), match: async () => ({ result: 'match', accountRef: 'FORGED' }) }), {}],
    ['answering 500', (port) => listen(port, (_req, res) => void ((res.statusCode = 500), res.end())), {}],
  ];

  it.each(failures)('a matching endpoint %s ends in "matching failed" with a way forward, never a release', async (_name, start, options) => {
    const port = await freePort();
    const fed = await federationWith({ port, ...options });
    const endpoint = await start(port, fed.issuer);
    if (endpoint) cleanup.push(() => endpoint.close());
    const citizen = await signInAndConsent(fed, 'margaret');
    expect((citizen.current as { url: string }).url).toMatch(/\/failure$/);
    expect(citizen.html).toContain('not responding');
    const back = await citizen.press('return');
    const url = (back as { url: URL }).url;
    expect(url.searchParams.get('error')).toBe('temporarily_unavailable');
    expect(url.searchParams.get('error_reason')).toBe('matching_failed');
    expect(url.searchParams.get('code')).toBeNull();
  });
});
