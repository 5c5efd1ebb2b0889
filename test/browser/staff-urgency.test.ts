/**
 * Urgency in the staff console, in real Chromium and by keyboard only: a supervisor marks a case
 * urgent (the reason chosen from the list; none chosen is an error), sees it first in the queue
 * with an Urgent tag, and unmarks it. axe on every page state reached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { addVirtualAuthenticator, checkPage, launchChromium, withPage } from './chromium.js';

describe('urgent cases in the staff console, in Chromium', () => {
  let fed: Federation;
  let browser: Browser;
  const refs: string[] = [];
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id'], issuerHost: 'localhost' });
    browser = await launchChromium();
    for (const who of ['priya', 'margaret']) {
      fed.clock.advance(60_000);
      const citizen = new Citizen(fed);
      await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
      await citizen.failAtLevel('civic-id', who);
      await citizen.press('help');
      await citizen.press('help', { step: 'open', description: 'The heating is off' });
      refs.push(citizen.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!);
    }
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fed?.close();
  });

  async function signIn(page: Page) {
    await addVirtualAuthenticator(page);
    const { url } = await fed.brokers[0]!.support.staff.invite('Sam Supervisor', 'supervisor');
    await page.goto(url);
    await page.click('#passkey-button');
    await page.waitForURL(/\/support\/staff\/sign-in\?enrolled=1$/);
    await page.click('#passkey-button');
    await page.waitForURL(/\/support\/staff$/);
  }

  /** The case references in the queue, in the order listed. */
  const listed = async (page: Page) => (await page.locator('tbody tr td:first-child a').allTextContents()).map((s) => s.trim());

  it('a supervisor marks the newer case urgent by keyboard; it is listed first with a tag; then unmarks it', async () => {
    await withPage(browser, async (page) => {
      await signIn(page);
      const [older, newer] = refs as [string, string];
      expect((await listed(page)).filter((r) => refs.includes(r))).toEqual([older, newer]);

      await page.goto(`${fed.issuer}/support/staff/cases/${newer}`);
      expect(await page.textContent('main')).toContain('Why can this case not wait?');
      await checkPage(page, 'staff-case-not-urgent');

      // Pressed without a reason: an error summary, focused, whose link leads to the first reason.
      await page.focus('#urgent-form button');
      await page.keyboard.press('Enter');
      await page.waitForLoadState();
      expect(await page.textContent('.govuk-error-summary')).toContain('Choose why the case cannot wait');
      await checkPage(page, 'staff-case-urgency-missing');
      await page.locator('.govuk-error-summary a').focus();
      await page.keyboard.press('Enter');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('urgency');
      // Arrow keys move through the reasons (a radio group is one tab stop); Tab reaches the button.
      await page.keyboard.press('Space');
      await page.keyboard.press('ArrowDown');
      expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.value)).toBe('housing');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Mark as urgent');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\?done=urgent$/);
      expect(await page.textContent('.govuk-notification-banner')).toContain('The case has been marked urgent');
      expect(await page.textContent('main')).toContain('At risk of losing housing');
      expect(await page.textContent('h1')).toContain('Urgent');
      await checkPage(page, 'staff-case-urgent');

      await page.goto(`${fed.issuer}/support/staff`);
      expect((await listed(page)).filter((r) => refs.includes(r))).toEqual([newer, older]);
      expect(await page.locator(`tr:has(a:text-is("${newer}")) .govuk-tag`).first().textContent()).toContain('Urgent');
      expect(await page.locator(`tr:has(a:text-is("${older}")) .govuk-tag:has-text("Urgent")`).count()).toBe(0);
      expect(await page.textContent('#urgent-count')).toContain('1 open case is urgent');
      await checkPage(page, 'staff-queue-urgent');

      await page.goto(`${fed.issuer}/support/staff/cases/${newer}`);
      await page.focus('#not-urgent-form button');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\?done=not-urgent$/);
      expect(await page.textContent('.govuk-notification-banner')).toContain('The case is no longer marked urgent');
      await checkPage(page, 'staff-case-no-longer-urgent');
      const trail = (await fed.brokers[0]!.audit.list({ caseRef: newer })).filter((e) => e.type.includes('rgent'));
      expect(trail.map((e) => [e.type, e.data ?? {}])).toEqual([
        ['staff.urgent', { urgency: 'housing' }],
        ['staff.notUrgent', {}],
      ]);
    });
  });
});
