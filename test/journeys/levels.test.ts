/**
 * Levels of assurance end to end: who is offered, what is refused on return, and the way
 * forward when a provider fails or falls short.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';

const radios = (html: string) => [...html.matchAll(/name="provider"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="provider"/g)].map((m) => m[1] ?? m[2]);

describe('levels: who is offered and what comes back', () => {
  let fed: Federation;
  beforeAll(async () => {
    // The wallet is a provider too (test/journeys/wallet.test.ts): switched off here, where the picker's IdPs are counted.
    fed = await startFederation({ policyChanges: { idps: { 'swift-verify': { status: 'suspended' }, 'digital-wallet': { status: 'suspended' } } } });
  });
  afterAll(() => fed?.close());
  afterEach(async () => {
    for (const stub of Object.values(fed.idps)) stub.switches = { fail: 'none', delayMs: 0 };
    await fed.brokers[0]!.upstream.checkHealth();
  });

  it('a P2 request never offers a P1-only provider; a P1 request offers it', async () => {
    const service = await fed.service();
    const p2 = new Citizen(fed);
    await p2.start(service, { vtr: ['Cl.Cm.P2'] });
    expect(radios(p2.html)).toEqual(['civic-id']);
    expect(p2.html).not.toContain('Community Vouch');

    const p1 = new Citizen(fed);
    await p1.start(service, { vtr: ['Cl.P1'] });
    expect(radios(p1.html).sort()).toEqual(['civic-id', 'community-vouch']);
  });

  it('a suspended provider is not offered, and cannot be chosen by posting its id', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.P1'] });
    expect(citizen.html).not.toContain('SwiftVerify');
    await expect(citizen.choose('swift-verify')).rejects.toThrow(/did not redirect \(status 400\)/);
    expect(citizen.html).toContain('govuk-error-summary');
  });

  it('a provider that returns a lower level than asked ends in "level not met", with a way forward', async () => {
    fed.idps['civic-id']!.switches = { fail: 'lower-level', delayMs: 0 };
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    const landing = await citizen.verifyWith('civic-id', 'margaret');
    expect(landing).toMatchObject({ kind: 'page' });
    expect((landing as { url: string }).url).toMatch(/\/failure$/);
    const back = await citizen.press('return');
    const url = (back as { url: URL }).url;
    expect(url.searchParams.get('error_reason')).toBe('level_not_met');
    expect(url.searchParams.get('code')).toBeNull();
  });

  it('a provider that fails after it was chosen leads to another provider without starting again', async () => {
    fed.idps['civic-id']!.switches = { fail: 'deny', delayMs: 0 };
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.P1'] });
    // access_denied from the provider: straight back to the choice of provider, saying so.
    const picker = await citizen.verifyWith('civic-id', 'sam', undefined);
    expect((picker as { url: string }).url).toMatch(/\/journey\/[^/]+\?stopped=civic-id$/);
    expect(citizen.html).toContain('You did not finish proving your identity with Civic ID.');
    await citizen.verifyWith('community-vouch', 'sam', undefined);
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    expect(claims.vot).toBe('Cl.P1');
  });

  // Last: it leaves the provider's circuit open.
  it('a provider that is down is shown as unavailable before the citizen chooses it', async () => {
    fed.idps['civic-id']!.switches = { fail: 'down', delayMs: 0 };
    await fed.brokers[0]!.upstream.checkHealth();
    await fed.brokers[0]!.upstream.checkHealth();
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.P1'] });
    expect(radios(citizen.html)).toEqual(['community-vouch']);
    expect(citizen.html).toContain('Civic ID');
  });
});

describe('levels: certification that expires during a journey', () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({
      idps: ['civic-id'],
      // Only Civic ID runs here; Swift Verify is suspended so that the picker holds one choice.
      policyChanges: { idps: { 'civic-id': { certification_expires: '2030-06-30' }, 'swift-verify': { status: 'suspended' }, 'digital-wallet': { status: 'suspended' } } },
      clockStart: new Date('2030-06-30T23:30:00Z'),
    });
  });
  afterAll(() => fed?.close());

  it('is refused on return, even though it was offered at the start', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    expect(radios(citizen.html)).toEqual(['civic-id']);
    const idpUrl = await citizen.choose('civic-id');
    fed.clock.advance(45 * 60 * 1000); // past midnight: the certification has ended
    const landing = await citizen.signIn(idpUrl, { username: 'margaret', secondFactor: 'code' });
    expect((landing as { url: string }).url).toMatch(/\/failure$/);
    const back = await citizen.press('return');
    expect((back as { url: URL }).url.searchParams.get('error_reason')).toBe('level_not_met');
  });
});
