/**
 * What the SDK's sign-in helpers and the example service do with a real browser (issue 15,
 * point 2): two sign-ins in one browser (two tabs) both finish; after the callback the service
 * redirects to a stable page (post/redirect/get), so refresh, Back and Forward, or opening the
 * callback again show the same result; and refresh after a cancellation keeps its message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startExampleService } from '../../relying-party-sdk/examples/council-tax/app.js';
import { startFederation, type Federation } from '../support/federation.js';
import { freePort } from '../support/ports.js';
import { checkPage, launchChromium, newContext } from './chromium.js';

describe('signing in to a service in Chromium: parallel tabs, refresh and Back', () => {
  let fed: Federation;
  let service: { url: string; close(): Promise<void> };
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    fed = await startFederation({
      idps: ['civic-id', 'swift-verify'],
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

  async function withContext(fn: (context: BrowserContext) => Promise<void>) {
    const context = await newContext(browser);
    try {
      await fn(context);
    } finally {
      await context.close();
    }
  }

  /** Remember the callback URL the broker sends the browser to (it is a redirect, never a page). */
  function watchCallback(page: Page): () => string {
    let callback = '';
    page.on('request', (r) => {
      if (r.url().startsWith(`${base}/callback?`)) callback = r.url();
    });
    return () => callback;
  }

  async function startAtService(page: Page) {
    await page.goto(`${base}/`);
    await page.click('text=Start now');
    await page.waitForURL(/\/journey\/[^/]+$/);
  }

  async function pickerToConsent(page: Page, username: string, idp: string) {
    await page.check(`input[name=provider][value=${idp}]`);
    await page.click('button:has-text("Continue")');
    await page.waitForURL(new RegExp(`^${fed.idps[idp]!.url}`));
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', 'demo-password');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    await page.fill('input[name=code]', (await page.textContent('[data-testid=demo-code]'))!.trim());
    await page.click('button[type=submit]');
    await page.waitForURL(/\/consent$/);
  }

  it('two tabs in one browser both finish: each person sees their own account (the second sign-in no longer overwrites the first)', async () => {
    await withContext(async (context) => {
      const first = await context.newPage();
      const second = await context.newPage();
      await startAtService(first);
      await startAtService(second); // started after the first, in the same browser
      await pickerToConsent(first, 'margaret', 'civic-id');
      await first.click('button:has-text("Share and continue")');
      await first.waitForURL(new RegExp(`^${base}/result/`));
      expect(await first.textContent('main')).toContain('CT-100234');

      await pickerToConsent(second, 'dylan', 'swift-verify');
      await second.click('button:has-text("Share and continue")');
      await second.waitForURL(/\/extra$/);
      await checkPage(second, 'extra-second-tab');
      await second.fill('#value', 'QQ 12 34 56 C');
      await second.click('#extra-form button:has-text("Continue")');
      await second.waitForURL(new RegExp(`^${base}/result/`));
      expect(await second.textContent('main')).toContain('CT-100871');

      // Each tab keeps its own result.
      await first.reload();
      expect(await first.textContent('main')).toContain('CT-100234');
      expect(await first.textContent('main')).not.toContain('CT-100871');
    });
  }, 90_000);

  it('after the callback the result is a stable page: refresh, Back then Forward, and the callback URL opened again all show the same account', async () => {
    await withContext(async (context) => {
      const page = await context.newPage();
      const callback = watchCallback(page);
      await startAtService(page);
      await pickerToConsent(page, 'margaret', 'civic-id');
      await page.click('button:has-text("Share and continue")');
      await page.waitForURL(new RegExp(`^${base}/result/[\\w-]+$`));
      const resultUrl = page.url();
      expect(callback()).toMatch(/[?&]code=/);
      expect(await page.textContent('main')).toContain('CT-100234');
      await checkPage(page, 'service-result');

      await page.reload();
      expect(page.url()).toBe(resultUrl);
      expect(await page.textContent('main')).toContain('CT-100234');

      await page.goBack();
      await page.goForward();
      expect(page.url()).toBe(resultUrl);
      expect(await page.textContent('main')).toContain('CT-100234');

      // Back into the callback itself (as an old bookmark or history entry would): the same page.
      await page.goto(callback());
      expect(page.url()).toBe(resultUrl);
      const text = (await page.textContent('main'))!;
      expect(text).toContain('CT-100234');
      expect(text).not.toContain('could not be finished');

      // Another browser with the same callback URL learns nothing.
      await withContext(async (other) => {
        const stranger = await other.newPage();
        await stranger.goto(callback());
        expect(await stranger.textContent('main')).toContain('could not be finished');
        expect(await stranger.textContent('main')).not.toContain('CT-100234');
        await checkPage(stranger, 'service-callback-other-browser');
        await stranger.goto(resultUrl);
        expect(await stranger.textContent('main')).toContain('This page has expired');
      });
    });
  }, 90_000);

  it('refresh after a cancellation keeps the cancellation\'s message', async () => {
    await withContext(async (context) => {
      const page = await context.newPage();
      const callback = watchCallback(page);
      await startAtService(page);
      await pickerToConsent(page, 'margaret', 'civic-id');
      await page.click('button:has-text("Do not share")');
      await page.waitForURL(/\/failure$/);
      await checkPage(page, 'failure-cancelled');
      await page.click('#return-form button');
      await page.waitForURL(new RegExp(`^${base}/result/[\\w-]+$`));
      const resultUrl = page.url();
      expect(callback()).toMatch(/[?&]error=access_denied/);
      expect(await page.textContent('main')).toContain('You chose not to share your details');

      await page.reload();
      expect(await page.textContent('main')).toContain('You chose not to share your details');
      await page.goto(callback());
      expect(page.url()).toBe(resultUrl);
      expect(await page.textContent('main')).toContain('You chose not to share your details');
      expect(await page.textContent('main')).not.toContain('could not be finished');
    });
  }, 90_000);
});
