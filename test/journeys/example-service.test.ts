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

describe('the example council tax service', () => {
  let fed: Federation;
  let service: { url: string; close(): Promise<void> };
  let base: string;
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    fed = await startFederation({
      idps: ['civic-id'],
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
});
