/**
 * The certification on the picker and on /performance in real Chromium, in English and Welsh:
 * the picker's "how these providers are checked" opens from the keyboard and shows each
 * provider's certificate and register link; both pages pass axe (WCAG 2.2 A/AA).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startFederation, type Federation } from '../support/federation.js';
import { checkPage, launchChromium, withPage } from './chromium.js';

describe('certification shown in Chromium', () => {
  let fed: Federation;
  let browser: Browser;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id', 'community-vouch'], wallets: false });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await fed?.close();
  });

  it.each(['en', 'cy'] as const)('the picker (%s): the certification details open with the keyboard, axe-clean open and closed', async (locale) => {
    const policies = fed.policies.load();
    const service = await fed.service();
    const { url } = await service.begin({ vtr: ['Cl.P1'], ...(locale === 'cy' ? { extra: { ui_locales: 'cy' } } : {}) });
    await withPage(browser, async (page) => {
      await page.goto(url.href);
      await page.waitForURL(/\/journey\/[^/]+$/);
      await checkPage(page, `picker-certification-closed-${locale}`);
      const details = page.locator('details#certification');
      expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
      await page.focus('details#certification summary');
      await page.keyboard.press('Enter');
      expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
      for (const id of ['civic-id', 'community-vouch']) {
        const idp = policies.identityProvider(id)!;
        const paragraph = page.locator(`#certification-${id}`);
        await expect.poll(() => paragraph.isVisible()).toBe(true);
        expect(await paragraph.innerText()).toContain(idp.certification.certificate_reference);
        expect(await paragraph.innerText()).toContain(locale === 'cy' ? idp.certification.trust_framework.cy!.name : idp.certification.trust_framework.name);
        expect(await paragraph.locator('a').getAttribute('href')).toBe(idp.certification.register.entry);
      }
      await checkPage(page, `picker-certification-open-${locale}`);
    }, { locale: locale === 'cy' ? 'cy-GB' : 'en-GB' });
  });

  it.each(['en', 'cy'] as const)('/performance (%s): the certification table is axe-clean', async (locale) => {
    await withPage(browser, async (page) => {
      await page.goto(`${fed.issuer}/performance?lang=${locale}`);
      const rows = page.locator('#certification-table tbody tr');
      const policies = fed.policies.load();
      // Every provider's certificate: the IdPs' and the wallet's (a holder service provider).
      expect(await rows.count()).toBe(policies.identityProviders.length + policies.walletProviders.length);
      expect(await page.locator('#certification-table').innerText()).toContain(policies.walletProvider('digital-wallet')!.certification.certificate_reference);
      await checkPage(page, `performance-certification-${locale}`);
    });
  });
});
