/**
 * The main citizen journey in real Chromium, from the example service's start page to the
 * matched account: the picker, the IdP stub (password and one-time code), consent. Every
 * page is checked with axe (WCAG 2.2 A/AA) and saved as a screenshot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startExampleService } from '../../relying-party-sdk/examples/council-tax/app.js';
import { startFederation, type Federation } from '../support/federation.js';
import { freePort } from '../support/ports.js';
import { axe, launchChromium, newContext, screenshot } from './chromium.js';

describe('the citizen journey in Chromium', () => {
  let fed: Federation;
  let service: { url: string; close(): Promise<void> };
  let lowService: { url: string; close(): Promise<void> };
  let lowBase: string;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    const port = await freePort();
    const lowPort = await freePort();
    base = `http://127.0.0.1:${port}`;
    lowBase = `http://127.0.0.1:${lowPort}`;
    fed = await startFederation({
      idps: ['civic-id', 'swift-verify', 'community-vouch'],
      matchingUrl: `${base}/matching`,
      policyChanges: { rps: { 'example-council-tax': { redirect_uris: [`${base}/callback`, `${lowBase}/callback`] } } },
    });
    service = await startExampleService({ port, host: '127.0.0.1', brokerIssuer: fed.issuer, baseUrl: base });
    // The same service asking only for Cl.P1, as a service open to people without documents would.
    // Its redirect URIs are on two origins, so this also checks pairwise subjects across hosts.
    lowService = await startExampleService({ port: lowPort, host: '127.0.0.1', brokerIssuer: fed.issuer, baseUrl: lowBase, vtr: 'Cl.P1' });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await lowService?.close();
    await fed?.close();
  });

  /** Screenshot, and axe where scripts can run (without JavaScript the same server-rendered pages are checked in the JavaScript run). */
  async function check(page: Page, name: string, runAxe = true) {
    await screenshot(page, name);
    if (!runAxe) return;
    const violations = await axe(page);
    expect(violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.html).join(' | ')})`), name).toEqual([]);
  }

  /** The IdP stub's pages are plainer than the broker's, but must be accessible too (axe in the JavaScript run). */
  async function signInAtStub(page: Page, username: string, idp: string, runAxe: boolean) {
    await check(page, `idp-sign-in-${idp}`, runAxe);
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', 'demo-password');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    await check(page, `idp-second-step-${idp}`, runAxe);
    const code = (await page.textContent('[data-testid=demo-code]'))!.trim();
    await page.fill('input[name=code]', code);
    await page.click('button[type=submit]');
    await page.waitForLoadState();
  }

  it.each([['civic-id', 'with JavaScript', true], ['swift-verify', 'without JavaScript', false]] as const)(
    'Margaret proves her identity through %s (%s) and sees her council tax account',
    async (idp, _how, javaScriptEnabled) => {
      const context = await newContext(browser, { javaScriptEnabled });
      const page = await context.newPage();
      try {
        await page.goto(`${base}/`);
        await check(page, `service-start-${idp}`, javaScriptEnabled);
        await page.click('text=Start now');
        await page.waitForURL(/\/journey\/[^/]+$/);
        await check(page, `picker-${idp}`, javaScriptEnabled);
        await page.check(`input[name=provider][value=${idp}]`);
        await page.click('button:has-text("Continue")');
        await page.waitForURL(new RegExp(`^${fed.idps[idp]!.url}`));
        await signInAtStub(page, 'margaret', idp, javaScriptEnabled);
        await page.waitForURL(/\/consent$/);
        await check(page, `consent-${idp}`, javaScriptEnabled);
        expect(await page.textContent('main')).toContain('14 March 1958');
        await page.click('button:has-text("Share and continue")');
        await page.waitForURL(/\/result\/[\w-]+$/); // the service kept the outcome and redirected (post/redirect/get)
        await check(page, `service-account-${idp}`, javaScriptEnabled);
        expect(await page.textContent('main')).toContain('CT-100234');
      } finally {
        await context.close();
      }
    },
  );

  it('Sam, who has no documents or credit history, proves his identity through Community Vouch at Cl.P1', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      await page.goto(`${lowBase}/`);
      await page.click('text=Start now');
      await page.waitForURL(/\/journey\/[^/]+$/);
      expect(await page.textContent('main')).toContain('Charity or not-for-profit');
      await check(page, 'picker-p1');
      await page.check('input[name=provider][value=community-vouch]');
      await page.click('button:has-text("Continue")');
      await page.waitForURL(new RegExp(`^${fed.idps['community-vouch']!.url}`));
      await page.fill('input[name=username]', 'sam');
      await page.fill('input[name=password]', 'demo-password');
      await page.click('button[type=submit]');
      await page.waitForURL(/\/consent$/);
      await check(page, 'consent-community-vouch');
      await page.click('button:has-text("Share and continue")');
      await page.waitForURL(/\/result\/[\w-]+$/); // the service kept the outcome and redirected (post/redirect/get)
      expect(await page.textContent('main')).toContain('CT-101552');
      expect(await page.textContent('main')).toContain('Sam Taylor');
    } finally {
      await context.close();
    }
  });

  it('the broker pages are the same journey in Welsh', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      await page.goto(`${base}/`);
      await page.click('text=Start now');
      await page.waitForURL(/\/journey\/[^/]+$/);
      await page.click('a[hreflang=cy]');
      await page.waitForLoadState();
      expect(await page.getAttribute('html', 'lang')).toBe('cy');
      expect(await page.textContent('h1')).toContain('Dewiswch sut i brofi pwy ydych chi');
      await check(page, 'picker-cy');
      await page.click('button:has-text("Parhau")');
      await page.waitForLoadState();
      expect(await page.textContent('.govuk-error-summary')).toContain('Dewiswch ddarparwr hunaniaeth');
      await check(page, 'picker-error-cy');
    } finally {
      await context.close();
    }
  });
});
