/**
 * The example service end to end, as a person would use it: its start page, the SDK's login
 * and callback routes, the broker, an IdP stub, matching against the council's records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleService } from '../../relying-party-sdk/examples/council-tax/app.js';
import { startFederation, type Federation } from '../support/federation.js';
import { BrowserClient, getText } from '../support/browser-client.js';
import { signInAtStub } from '../support/idp-stub-driver.js';
import { freePort } from '../support/ports.js';
import { visibleText } from '../support/text.js';

describe('the example council tax service', () => {
  let fed: Federation;
  let service: { url: string; close(): Promise<void> };
  let base: string;
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    fed = await startFederation({
      idps: ['civic-id', 'community-vouch'],
      matchingUrl: `${base}/matching`,
      policyChanges: { rps: { 'example-council-tax': { redirect_uris: [`${base}/callback`] } } },
    });
    service = await startExampleService({ port, host: '127.0.0.1', brokerIssuer: fed.issuer, baseUrl: base });
  });
  afterAll(async () => {
    await service?.close();
    await fed?.close();
  });

  async function throughTheBroker(username: string, ni?: string) {
    const browser = new BrowserClient();
    const start = await browser.fetch(`${base}/`);
    expect(await getText(start)).toContain('Start now');
    // /login -> broker picker
    const picker = await browser.follow(`${base}/login`);
    const pickerHtml = await getText(picker.response);
    const choose = await browser.submitForm(pickerHtml, picker.url, { formSelector: 'provider', fields: { provider: 'civic-id' } });
    const back = await signInAtStub(browser, new URL(choose.headers.get('location')!), { username, password: 'demo-password', secondFactor: 'code' });
    const consent = await browser.follow(back);
    let page = await browser.follow(await locationOf(await browser.submitForm(await getText(consent.response), consent.url, { formSelector: 'consent', fields: { decision: 'approve' } }), consent.url));
    if (page.url.endsWith('/extra') && ni) {
      page = await browser.follow(await locationOf(await browser.submitForm(await getText(page.response), page.url, { formSelector: 'extra', fields: { value: ni } }), page.url));
    }
    return { browser, page, html: await getText(page.response) };
  }

  async function locationOf(response: Response, base: string): Promise<URL> {
    expect([302, 303]).toContain(response.status);
    return new URL(response.headers.get('location')!, base);
  }

  it('Margaret signs in and sees her council tax account', async () => {
    const { page, html } = await throughTheBroker('margaret');
    expect(page.url).toMatch(/\/result\/[\w-]+$/); // after the callback, a stable page (post/redirect/get)
    expect(html).toContain('Your council tax account');
    expect(html).toContain('CT-100234');
    expect(html).toContain('Margaret');
  });

  it('Dylan is asked for his National Insurance number, then sees his account', async () => {
    const { html } = await throughTheBroker('dylan', 'QQ 12 34 56 C');
    expect(html).toContain('CT-100871');
  });

  it('Priya is asked for one more detail, reaches the no-match page, and goes back to the service with a way forward', async () => {
    const { browser, page, html } = await throughTheBroker('priya', 'QQ 11 22 33 A');
    expect(page.url).toMatch(/\/failure$/);
    expect(html).toContain('could not find your record');
    const back = await browser.follow(await locationOf(await browser.submitForm(html, page.url, { formSelector: '/return' }), page.url));
    const serviceHtml = await getText(back.response);
    expect(back.url).toMatch(/\/result\/[\w-]+$/);
    expect(serviceHtml).toContain('could not find your council tax account');
    expect(serviceHtml).toContain('0300 123 4567');
    expect(serviceHtml).toMatch(/quote reference <span class="ref">[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]</);
  });

  /** Start a task at the service (in a language), choose a provider, sign in, consent: the service's result page. */
  async function task(path: string, idp: string, username: string, lang?: 'cy') {
    const browser = new BrowserClient();
    if (lang) await getText((await browser.fetch(`${base}/?lang=${lang}`)));
    const login = await browser.fetch(`${base}${path}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const authorize = new URL(login.headers.get('location')!);
    const picker = await browser.follow(authorize);
    const pickerHtml = await getText(picker.response);
    const choose = await browser.submitForm(pickerHtml, picker.url, { formSelector: 'provider', fields: { provider: idp } });
    const atIdp = new URL(choose.headers.get('location')!);
    const stubPage = await getText((await new BrowserClient().follow(atIdp)).response);
    const back = await signInAtStub(browser, atIdp, { username, password: 'demo-password' });
    const landed = await browser.follow(back);
    const landedHtml = await getText(landed.response);
    return { browser, authorize, pickerHtml, atIdp, stubPage, landed, landedHtml };
  }

  it('Sam (no documents, P1 only) views his bill through Community Vouch, in Welsh from start to end', async () => {
    const { browser, authorize, pickerHtml, atIdp, stubPage, landed, landedHtml } = await task('/login?task=bill', 'community-vouch', 'sam', 'cy');
    // The bill asks for low identity confidence, and the person's language goes to the broker and on to the provider.
    expect(authorize.searchParams.get('vtr')).toBe('["Cl.P1"]');
    expect(authorize.searchParams.get('ui_locales')).toBe('cy');
    expect(pickerHtml).toContain('<html lang="cy"');
    expect(pickerHtml).toContain('value="community-vouch"');
    expect(atIdp.searchParams.get('ui_locales')).toBe('cy');
    expect(stubPage).toContain('<html lang="cy">');
    // Consent: what a P1 journey releases is what matching needs, the same four attributes as P2.
    expect(landed.url).toMatch(/\/consent$/);
    const consentText = visibleText(landedHtml);
    for (const value of ['Sam', 'Taylor', '9 Mai 2001', 'EX4 1RD']) expect(consentText).toContain(value);
    const result = await browser.follow(await locationOf(await browser.submitForm(landedHtml, landed.url, { formSelector: 'consent', fields: { decision: 'approve' } }), landed.url));
    expect(result.url).toMatch(/\/result\/[\w-]+$/);
    const text = visibleText(await getText(result.response));
    expect(text).toContain('Eich bil treth gyngor');
    expect(text).toContain('Rydych wedi profi pwy ydych chi ac rydym wedi dod o hyd i’ch cyfrif.');
    expect(text).toContain('CT-101552');
    expect(text).toContain('£31.00');
    // The bill, not the account: no date of birth shown, and the way to the account is offered.
    expect(text).not.toContain('Dyddiad geni');
    expect(text).toContain('I weld eich cyfrif cyfan neu i dalu');
  });

  it('Margaret sees her account in Welsh with dates in Welsh; the same task in English says it in English', async () => {
    const cy = await task('/login', 'civic-id', 'margaret', 'cy');
    expect(cy.authorize.searchParams.get('vtr')).toBe('["Cl.Cm.P2"]');
    const cyResult = await cy.browser.follow(await locationOf(await cy.browser.submitForm(cy.landedHtml, cy.landed.url, { formSelector: 'consent', fields: { decision: 'approve' } }), cy.landed.url));
    const cyText = visibleText(await getText(cyResult.response));
    expect(cyText).toContain('Eich cyfrif treth gyngor');
    expect(cyText).toContain('14 Mawrth 1958');
    expect(cyText).toContain('£142.50');
    // The toggle on the result page shows the same result in English.
    const en = visibleText(await getText((await cy.browser.follow(`${cyResult.url}?lang=en`)).response));
    expect(en).toContain('Your council tax account');
    expect(en).toContain('14 March 1958');
  });

  it('Sam asking to see his account (P2) is not verified thoroughly enough, and the service offers the bill instead', async () => {
    const browser = new BrowserClient();
    const login = await browser.fetch(`${base}/login`, { redirect: 'manual' });
    const picker = await browser.follow(new URL(login.headers.get('location')!));
    const pickerHtml = await getText(picker.response);
    expect(pickerHtml).not.toContain('value="community-vouch"'); // not certified for P2
    const choose = await browser.submitForm(pickerHtml, picker.url, { formSelector: 'provider', fields: { provider: 'civic-id' } });
    const back = await signInAtStub(browser, new URL(choose.headers.get('location')!), { username: 'sam', password: 'demo-password' });
    const failure = await browser.follow(back);
    const failureHtml = await getText(failure.response);
    expect(failure.url).toMatch(/\/failure$/);
    const result = await browser.follow(await locationOf(await browser.submitForm(failureHtml, failure.url, { formSelector: '/return' }), failure.url));
    const html = await getText(result.response);
    expect(visibleText(html)).toContain('could not be checked thoroughly enough');
    expect(html).toMatch(/You can still view your bill: it needs a less thorough check of your identity\. <a href="\/login\?task=bill">View your bill<\/a>/);
  });
});

