/**
 * Issue 14 in real Chromium, in English and Welsh: Back after the details were shared says what
 * really happened; the consent page lets a person use another provider instead; a no match does not
 * send them to another provider; help opens a case under the one reference already shown; the
 * broker's unknown pages are real pages. axe on every page, screenshots of every state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Federation } from '../support/federation.js';
import { checkPage, withPage as withFreshPage } from './chromium.js';
import { startServiceFederation, type ServiceFederation } from './service-federation.js';

const WORDS = {
  en: {
    finished: 'You have finished here',
    shared: 'Your details were shared with',
    another: 'Use a different identity provider',
    picker: 'Choose how to prove your identity',
    noRecord: 'could not find your record',
    caseOpened: 'Your case has been opened',
    notFound: 'Page not found',
    march: '14 March 1958',
  },
  cy: {
    finished: 'Rydych wedi gorffen yma',
    shared: 'Cafodd eich manylion eu rhannu gyda',
    another: 'Defnyddio darparwr hunaniaeth gwahanol',
    picker: 'Dewiswch sut i brofi pwy ydych chi',
    noRecord: 'dod o hyd i’ch cofnod',
    caseOpened: 'Mae eich achos wedi cael ei agor',
    notFound: 'Heb ddod o hyd i’r dudalen',
    march: '14 Mawrth 1958',
  },
} as const;

describe.each(['en', 'cy'] as const)('a citizen\'s true and useful pages in Chromium (%s)', (locale) => {
  const w = WORDS[locale];
  let setup: ServiceFederation;
  let fed: Federation;
  let base: string;
  beforeAll(async () => {
    setup = await startServiceFederation({ idps: ['civic-id', 'swift-verify'] });
    ({ fed, base } = setup);
  }, 60_000);
  afterAll(() => setup?.close());

  const check = (page: Page, name: string) => checkPage(page, `truthful-${locale}-${name}`);
  const withPage = (fn: (page: Page) => Promise<void>) => withFreshPage(setup.browser, fn);

  /** From the service's start page to the broker's consent page, in the chosen language. */
  async function toConsent(page: Page, username: string, idp = 'civic-id') {
    await page.goto(`${base}/`);
    await page.click('text=Start now');
    await page.waitForURL(/\/journey\/[^/]+$/);
    if (locale === 'cy') {
      await page.goto(`${page.url()}?lang=cy`);
      await page.waitForURL(/\/journey\/[^/]+\?lang=cy$/);
    }
    await page.check(`input[name=provider][value=${idp}]`);
    await page.click('#provider-form button[type=submit]');
    await page.waitForURL(new RegExp(`^${fed.idps[idp]!.url}`));
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', 'demo-password');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    await page.fill('input[name=code]', (await page.textContent('[data-testid=demo-code]'))!.trim());
    await page.click('button[type=submit]');
    await page.waitForURL(/\/consent$/);
  }

  it('Back after the details were shared lands on a page that says so, with a link to the service', async () => {
    await withPage(async (page) => {
      await toConsent(page, 'margaret');
      expect(await page.textContent('main')).toContain(w.march);
      await page.click('#consent-form button[value=approve]');
      await page.waitForURL(new RegExp(`^${base}/`));
      await page.waitForLoadState();
      await page.goBack();
      await page.waitForLoadState();
      expect(page.url()).toMatch(/\/journey\/[^/]+\/consent$/);
      expect(await page.textContent('h1')).toContain(w.finished);
      expect(await page.textContent('main')).toContain(w.shared);
      expect(await page.textContent('main')).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
      await check(page, 'back-after-shared');
      await page.click(`main a[href="${base}/"]`);
      await page.waitForURL(`${base}/`);
    });
  });

  it('the consent page offers another provider instead (nothing shared), by keyboard too', async () => {
    await withPage(async (page) => {
      await toConsent(page, 'margaret');
      await check(page, 'consent');
      await page.focus('#another-form button');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/journey\/[^/]+$/);
      expect(await page.textContent('h1')).toContain(w.picker);
      await check(page, 'picker-after-another');
    });
  });

  it('no match: no other provider offered; help opens a case under the reference already shown', async () => {
    await withPage(async (page) => {
      await toConsent(page, 'priya', 'swift-verify');
      await page.click('#consent-form button[value=approve]');
      await page.waitForURL(/\/extra$/);
      await page.fill('#value', 'QQ 11 22 33 A');
      await page.click('#extra-form button[type=submit]:not([value=skip])');
      await page.waitForURL(/\/failure$/);
      expect(await page.textContent('h1')).toContain(w.noRecord);
      expect(await page.locator('#another-form').count()).toBe(0);
      const shown = (await page.textContent('.govuk-inset-text strong'))!.trim();
      await check(page, 'failure-no-match');
      await page.click('#help-form button');
      await page.waitForLoadState();
      await page.click('#help-form button');
      await page.waitForURL(/\/failure$/);
      expect(await page.textContent('h1')).toContain(w.caseOpened);
      expect((await page.textContent('.govuk-panel strong'))!.trim()).toBe(shown);
      await check(page, 'case-opened');
    });
  });

  it('an unknown page at the broker is a real page with a way on', async () => {
    await withPage(async (page) => {
      const response = await page.goto(`${fed.issuer}/no-such-page?lang=${locale}`);
      expect(response?.status()).toBe(404);
      expect(await page.textContent('h1')).toContain(w.notFound);
      await check(page, 'not-found');
    });
  });
});
