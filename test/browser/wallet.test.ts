/**
 * Wallet journeys in real Chromium, same device (issue 18): the picker, the broker's wallet page
 * (link and QR code), the wallet stub's request page (choose whose wallet, what to share, or
 * decline), consent, and the example service. Pages are checked with axe and saved as screenshots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startExampleService } from '../../relying-party-sdk/examples/council-tax/app.js';
import { startFederation, type Federation } from '../support/federation.js';
import { freePort } from '../support/ports.js';
import { WALLET_ID } from '../support/wallet-driver.js';
import { checkPage, launchChromium, withPage as withFreshPage } from './chromium.js';

describe('wallet journeys in Chromium (same device)', () => {
  let fed: Federation;
  let service: { url: string; close(): Promise<void> };
  let browser: Browser;
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
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await fed?.close();
  });

  const check = checkPage;

  /** From the service's start page to the wallet stub's request page. */
  async function toWallet(page: Page, name?: string) {
    await page.goto(`${base}/`);
    await page.click('text=Start now');
    await page.waitForURL(/\/journey\/[^/]+$/);
    await page.check(`input[name=provider][value=${WALLET_ID}]`);
    await page.click('button:has-text("Continue")');
    await page.waitForURL(/\/journey\/[^/]+\/wallet$/);
    if (name) await check(page, `wallet-request-${name}`);
    expect(await page.getAttribute('#wallet-qr', 'src')).toMatch(/^data:image\/svg\+xml;base64,/);
    await page.click('#open-wallet');
    await page.waitForURL(new RegExp(`^${fed.wallets[WALLET_ID]!.url}/authorize`));
    if (name) await check(page, `wallet-stub-${name}`);
  }

  const withPage = (run: (page: Page) => Promise<void>) => withFreshPage(browser, run);

  it('Margaret shares her PID from the wallet, consents, and sees her council tax account', () =>
    withPage(async (page) => {
      await toWallet(page, 'margaret');
      expect(await page.textContent('main')).toContain('Identity assurance broker (development)');
      expect(await page.textContent('main')).not.toContain('council tax');
      await page.check('input[name=person][value=margaret]');
      await page.click('#share');
      await page.waitForURL(/\/consent$/);
      await check(page, 'wallet-consent');
      expect(await page.textContent('main')).toContain('14 March 1958');
      await page.click('button:has-text("Share and continue")');
      // The example service redirects after its callback to a stable result page (post/redirect/get).
      await page.waitForURL(/\/result\//);
      expect(await page.textContent('main')).toContain('CT-100234');
    }));

  it.each([['revoked'], ['tampered'], ['replay']] as const)('%s: the citizen lands on the failure page with a way forward', (mode) =>
    withPage(async (page) => {
      const stub = fed.wallets[WALLET_ID]!;
      if (mode === 'replay') {
        // An earlier presentation exists (made for another request).
        await toWallet(page);
        await page.check('input[name=person][value=margaret]');
        await page.click('#share');
        await page.waitForURL(/\/consent$/);
      }
      stub.switches.fail = mode;
      try {
        await toWallet(page);
        await page.check('input[name=person][value=margaret]');
        await page.click('#share');
        await page.waitForURL(/\/failure$/);
        await check(page, `wallet-failure-${mode}`);
        expect(await page.textContent('main')).not.toContain('Okafor');
        expect(await page.isVisible('form[action$="/another"] button')).toBe(true);
      } finally {
        stub.switches.fail = 'none';
      }
    }));

  it('declined in the wallet: the failure page offers another provider, which works', () =>
    withPage(async (page) => {
      await toWallet(page);
      await page.click('#decline');
      await page.waitForURL(/\/failure$/);
      await check(page, 'wallet-failure-declined');
      await page.click('form[action$="/another"] button');
      await page.waitForURL(/\/journey\/[^/]+$/);
      expect(await page.isVisible('input[name=provider][value=civic-id]')).toBe(true);
    }));

  it("the wallet stub's request page in Welsh", () =>
    withPage(async (page) => {
      await toWallet(page);
      await page.click('a[hreflang=cy]');
      await page.waitForLoadState();
      expect(await page.getAttribute('html', 'lang')).toBe('cy');
      expect(await page.textContent('h1')).toContain("Rhannu eich hunaniaeth o'ch waled");
      await check(page, 'wallet-stub-cy');
    }));
});
