/**
 * Every failure switch of the IdP stub, through the broker, to its way forward (issue 17): a real
 * stub configured over its admin endpoint as a service team would (configureStub, per person where
 * the switch allows), a real broker on real Redis. For each: the page the citizen ends on, the ways
 * forward it offers (another provider, the service's other ways, help), the cause code the audit
 * records, and the OIDC error the service receives.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { configureStub, type StubSettings } from '@idbroker/idp-stub/testing';
import { startFederation, DEMO_PASSWORD, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { signInAtStub } from '../support/idp-stub-driver.js';
import { visibleText } from '../support/text.js';

const TOKEN = 'test-admin-token';
/** The broker waits this long for a provider's token request (config idpTimeoutMs). */
const IDP_TIMEOUT_MS = 1000;
/** Sam's own scores meet L1A only: one point short of it (verification 0) meets no P1 profile. */
const SHORT_OF_L1A = { evidence: [[2, 2]] as Array<[number, number]>, activity: 0, fraud: 1, verification: 0 };
const sam = (settings: NonNullable<StubSettings['identities']>[string]): StubSettings => ({ identities: { sam: settings } });

interface Case {
  switch: string;
  /** Settings for the stub (after a reset). */
  settings: StubSettings;
  /** Where the citizen ends: the failure page (with its reason), back at the choice of provider, or consent (it worked). */
  ends: { failure: 'level_not_met' | 'provider_failed' | 'fraud_flagged' } | 'picker' | 'consent';
  /** The audit's cause code on journey.idpFailed (null: no failure). */
  cause: string | null;
  another: boolean;
  help: boolean;
  /** The OIDC error the service gets when the person goes back (undefined: not applicable). */
  oidcError?: 'access_denied' | 'temporarily_unavailable';
  /** Turn the stub off after the sign-in, before its answer reaches the broker. */
  downBeforeCallback?: boolean;
}

const failure = (reason: 'level_not_met' | 'provider_failed' | 'fraud_flagged', cause: string): Pick<Case, 'ends' | 'cause' | 'another' | 'help' | 'oidcError'> => ({
  ends: { failure: reason },
  cause,
  // Another provider can help unless fraud is suspected; help is always there after a failure.
  another: reason !== 'fraud_flagged',
  help: true,
  oidcError: reason === 'provider_failed' ? 'temporarily_unavailable' : 'access_denied',
});

const CASES: Case[] = [
  { switch: 'level too low (lower-level)', settings: sam({ fail: 'lower-level' }), ...failure('level_not_met', 'level.below_request') },
  { switch: 'scores one point short of the profile', settings: sam({ scores: SHORT_OF_L1A }), ...failure('level_not_met', 'level.not_supported_by_evidence') },
  { switch: 'wrong iss', settings: sam({ fail: 'wrong-iss' }), ...failure('provider_failed', 'token.wrong_issuer') },
  { switch: 'wrong aud', settings: sam({ fail: 'wrong-aud' }), ...failure('provider_failed', 'token.wrong_audience') },
  { switch: 'wrong nonce', settings: sam({ fail: 'wrong-nonce' }), ...failure('provider_failed', 'token.wrong_nonce') },
  { switch: 'missing nonce', settings: sam({ fail: 'no-nonce' }), ...failure('provider_failed', 'token.missing_nonce') },
  { switch: 'expired token', settings: sam({ fail: 'expired' }), ...failure('provider_failed', 'token.expired') },
  { switch: 'token from the future', settings: sam({ fail: 'future' }), ...failure('provider_failed', 'token.issued_in_future') },
  { switch: 'wrong signature', settings: sam({ fail: 'wrong-signature' }), ...failure('provider_failed', 'token.bad_signature') },
  { switch: 'fraud signal', settings: sam({ fail: 'fraud' }), ...failure('fraud_flagged', 'fraud.contra_indicators') },
  { switch: 'server error', settings: sam({ fail: 'error' }), ...failure('provider_failed', 'idp.error') },
  // access_denied: the person stopped there (or it could not confirm them): back to the choice, saying so.
  { switch: 'access_denied', settings: sam({ fail: 'deny' }), ends: 'picker', cause: 'idp.access_denied', another: true, help: false },
  // Return codes (docs/adr/0006-return-codes.md, policies/broker.yaml return_codes).
  { switch: 'return code N (the person\'s evidence)', settings: sam({ returnCodes: ['N'] }), ...failure('level_not_met', 'return_code.evidence') },
  { switch: 'return code T (the provider)', settings: sam({ returnCodes: ['T'] }), ...failure('provider_failed', 'return_code.provider') },
  { switch: 'return code F (fraud)', settings: sam({ returnCodes: ['F'] }), ...failure('fraud_flagged', 'return_code.fraud') },
  { switch: 'return codes T and V (fraud is graver)', settings: sam({ returnCodes: ['T', 'V'] }), ...failure('fraud_flagged', 'return_code.fraud') },
  { switch: 'return code outside the vocabulary', settings: sam({ returnCodes: ['Q9'] }), ...failure('provider_failed', 'return_code.unknown') },
  // Slow answers: within the broker's timeout it works; beyond it the provider has failed.
  { switch: 'slow answer within the timeout', settings: { delayMs: 200 }, ends: 'consent', cause: null, another: false, help: false },
  { switch: 'slow answer over the timeout', settings: { delayMs: IDP_TIMEOUT_MS + 600 }, ...failure('provider_failed', 'idp.timeout') },
  // An outage after the person signed in: the token request finds the provider down.
  { switch: 'outage (after sign-in)', settings: {}, downBeforeCallback: true, ...failure('provider_failed', 'idp.unavailable') },
];

describe('each stub failure switch, through the broker, to its way forward', () => {
  let fed: Federation;
  let stubUrl: string;
  beforeAll(async () => {
    fed = await startFederation({
      redisUrl: inject('redisUrl'),
      idps: ['civic-id', 'community-vouch'],
      wallets: false,
      idpTimeoutMs: IDP_TIMEOUT_MS,
      // Two providers for Cl.P1 (Civic ID fails, Community Vouch is the other way); no others.
      policyChanges: { idps: { 'swift-verify': { status: 'suspended' }, 'digital-wallet': { status: 'suspended' } } },
    });
    stubUrl = fed.idps['civic-id']!.issuer;
  });
  afterAll(() => fed?.close());
  afterEach(async () => {
    await configureStub(stubUrl, TOKEN, { reset: true });
    // A provider failure counts towards its circuit: a good health check closes it again.
    await fed.brokers[0]!.upstream.checkHealth('civic-id');
  });

  /** The audit events of a journey, by its reference. */
  const eventsOf = (ref: string) => fed.brokers[0]!.audit.list({ journey: ref, limit: 1000 });

  it.each(CASES)('$switch', async (c) => {
    await configureStub(stubUrl, TOKEN, { reset: true, ...c.settings });
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.P1'] });
    const pickerUrl = (citizen.current as { url: string }).url;
    const atStub = await citizen.choose('civic-id');
    const back = await signInAtStub(citizen.browser, atStub, { username: 'sam', password: DEMO_PASSWORD });
    if (c.downBeforeCallback) await configureStub(stubUrl, TOKEN, { fail: 'down' });
    const landing = await citizen.visit(back);
    expect(landing.kind).toBe('page');
    const { url } = landing as { url: string };
    const html = citizen.html;
    const text = visibleText(html);

    if (c.ends === 'consent') {
      expect(url).toMatch(/\/consent$/);
      const done = await citizen.consent('approve');
      expect(done.kind).toBe('service');
      const { claims } = await citizen.collect();
      expect(claims.vot).toBe('Cl.P1');
      const events = await eventsOf(String(claims.txn));
      expect(events.map((e) => e.type)).not.toContain('journey.idpFailed');
      return;
    }

    if (c.ends === 'picker') {
      expect(url).toMatch(new RegExp(`^${pickerUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\?stopped=civic-id$`));
      expect(text).toContain('You did not finish proving your identity with Civic ID');
      // Ways forward: the choice again (both providers), or the service's other ways.
      expect(html).toContain('value="community-vouch"');
      expect(html).toContain('value="civic-id"');
    } else {
      expect(url).toMatch(/\/failure$/);
      const title = { level_not_met: 'Your identity could not be checked thoroughly enough', provider_failed: 'Sorry, there is a problem with the identity provider', fraud_flagged: 'We could not complete your identity check online' }[c.ends.failure];
      expect(text).toContain(title);
      expect(html.includes('id="another-form"'), 'another provider offered').toBe(c.another);
      expect(html.includes('id="help-form"'), 'help offered').toBe(c.help);
      expect(text).toContain('0300 123 4567'); // the service's other ways
      expect(html).toContain('id="return-form"');
      if (c.ends.failure === 'fraud_flagged') expect(text).not.toMatch(/fraud|suspicio|contra-indicator/i);
    }

    // Back to the service (from the failure page, or via "I cannot use any of these").
    if (c.ends === 'picker') await citizen.visit(`${pickerUrl}/other-ways`);
    const returned = await citizen.press('return');
    expect(returned.kind).toBe('service');
    const params = (returned as { url: URL }).url.searchParams;
    expect(params.get('code')).toBeNull();
    if (c.oidcError) {
      expect(params.get('error')).toBe(c.oidcError);
      expect(params.get('error_reason')).toBe((c.ends as { failure: string }).failure);
    }
    const ref = params.get('txn')!;
    const failed = (await eventsOf(ref)).filter((e) => e.type === 'journey.idpFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ idp: 'civic-id', cause: c.cause, reason: c.ends === 'picker' ? 'cancelled' : c.ends.failure });
  });

  // Last: an outage before the choice leaves the provider's circuit open.
  it('outage (before the choice): the provider is shown as not available, the other one can be chosen', async () => {
    await configureStub(stubUrl, TOKEN, { fail: 'down' });
    await fed.brokers[0]!.upstream.checkHealth('civic-id');
    await fed.brokers[0]!.upstream.checkHealth('civic-id');
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.P1'] });
    const html = citizen.html;
    expect(html).not.toContain('value="civic-id"');
    expect(html).toContain('value="community-vouch"');
    expect(visibleText(html)).toMatch(/Not available right now[^]*Civic ID/);
    await expect(citizen.choose('civic-id')).rejects.toThrow(/did not redirect \(status 400\)/);
    // The way forward works: the other provider.
    const landing = await citizen.verifyWith('community-vouch', 'sam', undefined);
    expect((landing as { url: string }).url).toMatch(/\/consent$/);
  });
});
