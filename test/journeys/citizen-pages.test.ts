/**
 * What a citizen reads, tried as a new user would (issue 14): Welsh everywhere the policies speak,
 * ways forward that fit who caused a failure, one reference, and Back/refresh after the end that
 * says what really happened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policies } from '@idbroker/policies';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { getText } from '../support/browser-client.js';
import { sdkMatchingEndpoint, freePort, type TestEndpoint } from '../support/matching-service.js';
import { visibleText } from '../support/text.js';


/** Every English sentence the policies put in front of a citizen (that is not a proper name). */
function englishPolicyText(policies: Policies): string[] {
  const texts: string[] = [];
  for (const p of [...policies.identityProviders, ...policies.walletProviders]) {
    if (p.description) texts.push(p.description);
    texts.push(...p.what_you_will_need);
    if (p.cy?.display_name) texts.push(p.display_name);
  }
  for (const rp of policies.relyingParties) texts.push(rp.display_name, ...rp.other_ways.map((w) => w.text));
  for (const l of [...policies.levels.confidence, ...policies.levels.authentication]) texts.push(l.name);
  return texts;
}

describe('what a citizen reads', () => {
  let fed: Federation;
  let matching: TestEndpoint;
  beforeAll(async () => {
    const port = await freePort();
    fed = await startFederation({ idps: ['civic-id', 'community-vouch'], matchingUrl: `http://127.0.0.1:${port}/matching` });
    // The example service's records: margaret matches, priya does not.
    matching = await sdkMatchingEndpoint(port, {
      brokerIssuer: fed.issuer,
      async match(identity) {
        return identity.attributes.given_name === 'Margaret' ? { result: 'match', accountRef: 'CT-1001' } : { result: 'no-match' };
      },
    });
  });
  afterAll(async () => {
    await matching?.close();
    await fed?.close();
  });

  it('in Welsh, the picker, consent and other ways show the policies\' Welsh text and Welsh dates, never their English', async () => {
    const policies = fed.policies.load();
    const english = englishPolicyText(policies);
    expect(english.length).toBeGreaterThan(10);
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ['given_name', 'family_name', 'birthdate', 'address'], extra: { ui_locales: 'cy' } });
    const picker = visibleText(citizen.html);
    const civic = policies.identityProvider('civic-id')!;
    expect(picker).toContain('Hyder canolig yn eich hunaniaeth');
    expect(picker).toContain(civic.cy!.description!);
    for (const hint of civic.cy!.what_you_will_need) expect(picker).toContain(hint);
    for (const text of english) expect(picker, `English policy text on the Welsh picker: ${text}`).not.toContain(text);

    const otherWays = visibleText(await getText(await citizen.browser.fetch(`${(citizen.current as { url: string }).url}/other-ways`)));
    const rp = policies.relyingParty('example-council-tax')!;
    for (const way of rp.cy!.other_ways) expect(otherWays).toContain(way.text);
    for (const text of english) expect(otherWays, `English policy text on the Welsh other ways: ${text}`).not.toContain(text);

    await citizen.verifyWith('civic-id', 'margaret');
    const consent = visibleText(citizen.html);
    expect(consent).toContain('14 Mawrth 1958');
    expect(consent).not.toContain('March');
    expect(consent).toContain(rp.cy!.display_name);
    // A UK address reads as one, without a country code at the end.
    expect(consent).toMatch(/EX1 2AB(?! GB)/);
    for (const text of english) expect(consent, `English policy text on the Welsh consent page: ${text}`).not.toContain(text);
  });

  it('no match (the service\'s records): no other provider, but the service\'s other ways and help, with the journey\'s reference', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ['given_name', 'family_name'] });
    await citizen.verifyWith('civic-id', 'priya');
    await citizen.consent('approve');
    await citizen.giveExtra('QQ 11 22 33 A');
    expect((citizen.current as { url: string }).url).toMatch(/\/failure$/);
    const text = visibleText(citizen.html);
    expect(text).toContain('could not find your record');
    expect(citizen.html).not.toContain('id="another-form"');
    expect(citizen.html).toContain('id="help-form"');
    expect(text).toMatch(/Your reference is [0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]/);
    expect(text).toContain('0300 123 4567');
  });

  it('a person who chose not to share is offered another provider and other ways, not help or a reference', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.verifyWith('civic-id', 'margaret');
    await citizen.consent('cancel');
    const text = visibleText(citizen.html);
    expect(text).toContain('Nothing has been shared');
    expect(citizen.html).toContain('id="another-form"');
    expect(citizen.html).not.toContain('id="help-form"');
    expect(text).not.toContain('Your reference is');
  });

  it('one reference: help asked for after no match opens a case under the reference already shown, found by the case lookup', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ['given_name'] });
    await citizen.verifyWith('civic-id', 'priya');
    await citizen.consent('approve');
    await citizen.giveExtra('QQ 11 22 33 A');
    const shown = /Your reference is ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z])/.exec(visibleText(citizen.html))![1]!;
    await citizen.press('help');
    await citizen.press('help', { step: 'open', description: 'I moved house' });
    const page = visibleText(citizen.html);
    expect(page).toContain('Your case has been opened');
    expect(page).not.toContain('could not find your record');
    expect(page).toContain(shown);
    // Exactly one reference on the page.
    expect(page.match(/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]/g)).toEqual([shown]);
    const lookup = await getText(await citizen.browser.fetch(`${fed.issuer}/support/case`));
    const found = visibleText(await getText(await citizen.browser.submitForm(lookup, `${fed.issuer}/support/case`, { formSelector: 'lookup-form', fields: { reference: shown.toLowerCase() } })));
    expect(found).toContain(`Case ${shown}`);
    const back = await citizen.press('return');
    const url = (back as { url: URL }).url;
    expect(url.searchParams.get('txn')).toBe(shown);
    expect(url.searchParams.get('case_ref')).toBe(shown);
  });

  it('Back after the details were shared says so truthfully, with a way to the service and no error number', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'], attributes: ['given_name'] });
    await citizen.verifyWith('civic-id', 'margaret');
    const consentUrl = (citizen.current as { url: string }).url;
    await citizen.consent('approve');
    expect(citizen.current.kind).toBe('service');
    await citizen.collect();
    for (const url of [consentUrl, consentUrl.replace(/\/consent$/, ''), consentUrl.replace(/\/consent$/, '/failure')]) {
      const landing = await citizen.visit(url);
      expect(landing).toMatchObject({ kind: 'page', status: 200 });
      const text = visibleText(citizen.html);
      expect(text).toContain('You have finished here');
      expect(text).toContain('Your details were shared with Pay your council tax (Example Borough Council), as you agreed.');
      expect(text).not.toContain('Nothing about you has been shared');
      expect(text).not.toMatch(/Error reference|[0-9a-f]{8}-[0-9a-f]{4}-/);
      expect(citizen.html).toContain(`href="${new URL(citizen.service.redirectUri).origin}/"`);
    }
    // Another browser (no cookie of this journey) is told only that the session ended.
    const stranger = new Citizen(fed);
    stranger.service = citizen.service;
    expect(await stranger.visit(consentUrl)).toMatchObject({ kind: 'page', status: 400 });
    expect(visibleText(stranger.html)).toContain('Your session has ended');
    expect(visibleText(stranger.html)).not.toContain('shared with');
  });

  it('on the consent page the person can use a different provider instead: nothing is shared and the picker comes back', async () => {
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.P1'], attributes: ['given_name'] });
    await citizen.verifyWith('civic-id', 'margaret');
    expect(visibleText(citizen.html)).toContain('Use a different identity provider');
    await citizen.press('another');
    expect((citizen.current as { url: string }).url).toMatch(/\/journey\/[^/]+$/);
    expect(visibleText(citizen.html)).toContain('Choose how to prove your identity');
    // /journey/resume (where the IdP stub sends someone who pressed Back) finds the picker again.
    expect(await citizen.visit(`${fed.issuer}/journey/resume`)).toMatchObject({ kind: 'page', status: 200 });
    expect(visibleText(citizen.html)).toContain('Choose how to prove your identity');
    await citizen.verifyWith('community-vouch', 'margaret', undefined);
    await citizen.consent('approve');
    const { claims } = await citizen.collect();
    const events = await fed.brokers[0]!.audit.list({ journey: String(claims.txn) });
    expect(events.map((e) => e.type)).toContain('journey.anotherProviderRequested');
  });

  it('the broker root and unknown paths answer a styled "page not found" with a way on, in English and Welsh', async () => {
    for (const [path, words] of [['/', 'Page not found'], ['/no/such/page', 'Page not found'], ['/?lang=cy', 'Heb ddod o hyd i’r dudalen']] as const) {
      const response = await fetch(`${fed.issuer}${path}`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await response.text();
      expect(html).toContain('govuk-template');
      expect(visibleText(html)).toContain(words);
      expect(html).toContain('href="/support/case"');
    }
    // The OpenID Provider's own endpoints are untouched.
    expect((await fetch(`${fed.issuer}/.well-known/openid-configuration`)).status).toBe(200);
    expect((await fetch(`${fed.issuer}/jwks`)).status).toBe(200);
  });
});
