/**
 * The citizen journeys that do not go straight through, in real Chromium: cancel at consent,
 * a level not met, no match after one more detail then a support case looked up by its
 * reference, and "I cannot use any of these". Also the main journey with the keyboard alone,
 * and focus moving to the error summary. axe on every page, screenshots of every state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Federation } from '../support/federation.js';
import { checkPage, withPage as withFreshPage } from './chromium.js';
import { startServiceFederation, type ServiceFederation } from './service-federation.js';

describe('ways forward in Chromium', () => {
  let setup: ServiceFederation;
  let fed: Federation;
  let base: string;
  beforeAll(async () => {
    setup = await startServiceFederation({ idps: ['civic-id', 'swift-verify'] });
    ({ fed, base } = setup);
  }, 60_000);
  afterAll(() => setup?.close());

  const check = checkPage;
  const withPage = (fn: (page: Page) => Promise<void>) => withFreshPage(setup.browser, fn);

  async function toConsent(page: Page, username: string, idp = 'civic-id') {
    await page.goto(`${base}/`);
    await page.click('text=Start now');
    await page.waitForURL(/\/journey\/[^/]+$/);
    await page.check(`input[name=provider][value=${idp}]`);
    await page.click('button:has-text("Continue")');
    await page.waitForURL(new RegExp(`^${fed.idps[idp]!.url}`));
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', 'demo-password');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    await page.fill('input[name=code]', (await page.textContent('[data-testid=demo-code]'))!.trim());
    await page.click('button[type=submit]');
    await page.waitForLoadState();
  }

  it('cancel at consent: nothing is shared, and the service shows its other ways', async () => {
    await withPage(async (page) => {
      await toConsent(page, 'margaret');
      await page.click('button:has-text("Do not share")');
      await page.waitForURL(/\/failure$/);
      await check(page, 'failure-cancelled');
      await page.click('#return-form button');
      await page.waitForURL(/\/result\/[\w-]+$/); // the service kept the outcome and redirected (post/redirect/get)
      expect(await page.textContent('main')).toContain('You chose not to share your details');
      await check(page, 'service-cancelled');
    });
  });

  it('a level not met is refused with a way forward to another provider', async () => {
    fed.idps['civic-id']!.switches = { fail: 'lower-level', delayMs: 0 };
    try {
      await withPage(async (page) => {
        await toConsent(page, 'margaret');
        await page.waitForURL(/\/failure$/);
        expect(await page.textContent('h1')).toContain('could not be checked thoroughly enough');
        await check(page, 'failure-level-not-met');
        await page.click('#another-form button');
        await page.waitForURL(/\/journey\/[^/]+$/);
        expect(await page.textContent('h1')).toContain('Choose how to prove your identity');
      });
    } finally {
      fed.idps['civic-id']!.switches = { fail: 'none', delayMs: 0 };
    }
  });

  it('no match, one more detail (with focus on the error summary after a mistake), still no match, a case opened and looked up', async () => {
    await withPage(async (page) => {
      await toConsent(page, 'priya');
      await page.click('button:has-text("Share and continue")');
      await page.waitForURL(/\/extra$/);
      await check(page, 'extra-attribute');
      await page.fill('#value', 'not a number');
      await page.click('#extra-form button:has-text("Continue")');
      await page.waitForLoadState();
      expect(await page.evaluate(() => document.activeElement?.classList.contains('govuk-error-summary'))).toBe(true);
      await check(page, 'extra-attribute-error');
      await page.fill('#value', 'QQ 11 22 33 A');
      await page.click('#extra-form button:has-text("Continue")');
      await page.waitForURL(/\/failure$/);
      await check(page, 'failure-no-match');
      // Another provider would return the same person: not offered for the service's records.
      expect(await page.locator('#another-form').count()).toBe(0);
      const journeyRef = (await page.textContent('.govuk-inset-text strong'))!.trim();
      await page.click('#help-form button');
      await page.waitForLoadState();
      await check(page, 'case-create');
      await page.fill('#description', 'I moved house last year');
      await page.click('#help-form button');
      await page.waitForURL(/\/failure$/);
      // The case is the news now (its own heading), and its reference is the one already shown.
      expect(await page.textContent('h1')).toContain('Your case has been opened');
      const ref = (await page.textContent('.govuk-panel strong'))!.trim();
      expect(ref).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/);
      expect(journeyRef).toBe(ref);
      await check(page, 'failure-with-case');
      await page.click('a:has-text("Check the progress of your case")');
      await page.waitForURL(/\/support\/case$/);
      await check(page, 'case-lookup');
      await page.fill('#reference', ref);
      await page.click('#lookup-form button');
      await page.waitForLoadState();
      expect(await page.textContent('main')).toContain(`Case ${ref}`);
      await check(page, 'case-status');
    });
  });

  it('"I cannot use any of these" reaches the service\'s other ways at once', async () => {
    await withPage(async (page) => {
      await page.goto(`${base}/`);
      await page.click('text=Start now');
      await page.waitForURL(/\/journey\/[^/]+$/);
      await page.click('a:has-text("I cannot use any of these")');
      await page.waitForURL(/\/other-ways$/);
      expect(await page.textContent('main')).toContain('0300 123 4567');
      await check(page, 'other-ways');
      await page.click('#return-form button');
      await page.waitForURL(/\/result\/[\w-]+$/); // the service kept the outcome and redirected (post/redirect/get)
      expect(await page.textContent('main')).toContain('You told us you cannot use any of the ways to prove your identity online');
    });
  });

  it('the main journey with the keyboard alone (Tab, Shift+Tab, Enter, Space)', async () => {
    await withPage(async (page) => {
      const focused = () => page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el ? `${el.tagName.toLowerCase()}#${el.id}[${el.getAttribute('name') ?? ''}] ${(el.textContent ?? '').trim().slice(0, 40)}` : '';
      });
      async function tabTo(match: RegExp, max = 40) {
        for (let i = 0; i < max; i++) {
          await page.keyboard.press('Tab');
          if (match.test(await focused())) return;
        }
        throw new Error(`never reached ${match} with Tab (last: ${await focused()})`);
      }
      await page.goto(`${base}/`);
      await tabTo(/Start now/);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/journey\/[^/]+$/);
      await tabTo(/^input#provider\[provider\]/);
      await page.keyboard.press('Space');
      await tabTo(/^button.*Continue/);
      await page.keyboard.press('Shift+Tab');
      expect(await focused()).toMatch(/remember/);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.waitForURL(new RegExp(`^${fed.idps['civic-id']!.url}`));
      await tabTo(/\[username\]/);
      await page.keyboard.type('margaret');
      await tabTo(/\[password\]/);
      await page.keyboard.type('demo-password');
      await page.keyboard.press('Enter');
      await page.waitForLoadState();
      const code = (await page.textContent('[data-testid=demo-code]'))!.trim();
      await tabTo(/\[code\]/);
      await page.keyboard.type(code);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/consent$/);
      await tabTo(/Share and continue/);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/result\/[\w-]+$/); // the service kept the outcome and redirected (post/redirect/get)
      expect(await page.textContent('main')).toContain('CT-100234');
    });
  });
});
