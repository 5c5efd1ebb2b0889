/**
 * Staff journeys in real Chromium with a WebAuthn virtual authenticator (Chrome DevTools
 * Protocol): enrol from an invite, sign in with the passkey, find, escalate and resolve a
 * case; an agent is refused a supervisor's action. axe on every page reached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startFederation, type Federation } from '../support/federation.js';
import { Citizen } from '../support/citizen.js';
import { addVirtualAuthenticator, checkPage, launchChromium, newContext } from './chromium.js';

describe('the staff console in Chromium', () => {
  let fed: Federation;
  let browser: Browser;
  let ref: string;
  beforeAll(async () => {
    fed = await startFederation({ idps: ['civic-id'], issuerHost: 'localhost' });
    browser = await launchChromium();
    const citizen = new Citizen(fed);
    await citizen.start(await fed.service(), { vtr: ['Cl.Cm.P2'] });
    await citizen.failAtLevel('civic-id', 'priya');
    await citizen.press('help');
    await citizen.press('help', { step: 'open', description: 'Stuck at the last step' });
    ref = citizen.html.match(/Your case reference is <strong>([0-9A-Z-]+)<\/strong>/)![1]!;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fed?.close();
  });

  const check = checkPage;

  async function enrolAndSignIn(role: 'supervisor' | 'agent', name: string) {
    const context = await newContext(browser);
    const page = await context.newPage();
    await addVirtualAuthenticator(page);

    const { url } = await fed.brokers[0]!.support.staff.invite(name, role);
    await page.goto(url);
    await check(page, `staff-enrol-${role}`);
    await page.click('#passkey-button');
    await page.waitForURL(/\/support\/staff\/sign-in\?enrolled=1$/);
    await check(page, `staff-sign-in-${role}`);
    await page.click('#passkey-button');
    await page.waitForURL(/\/support\/staff$/);
    return { context, page };
  }

  it('a supervisor enrols a passkey, signs in, finds the case, escalates and resolves it', async () => {
    const { context, page } = await enrolAndSignIn('supervisor', 'Sam Supervisor');
    try {
      await check(page, 'staff-queue');
      await page.click(`a:has-text("${ref}")`);
      await page.waitForURL(new RegExp(`/support/staff/cases/${ref}$`));
      await check(page, 'staff-case');
      expect(await page.textContent('main')).toContain('Stuck at the last step');
      await page.selectOption('#to', 'idp');
      await page.fill('#whom', 'Civic ID service desk, ticket 7781');
      await page.click('#escalate-form button');
      await page.waitForLoadState();
      expect(await page.textContent('main')).toContain('Civic ID service desk, ticket 7781');
      // No outcome chosen: an error, nothing resolved.
      await page.click('#resolve-form button');
      await page.waitForLoadState();
      expect(await page.textContent('.govuk-error-summary')).toContain('Choose the outcome of the case');
      await check(page, 'staff-case-outcome-missing');
      await page.check('input[name=outcome][value=verified_another_way]');
      await page.click('#resolve-form button');
      await page.waitForLoadState();
      // Confirmed on its own page, which says what closing deletes.
      expect(await page.textContent('h1')).toContain(`Resolve case ${ref}?`);
      expect(await page.textContent('main')).toContain('what the person told us');
      await check(page, 'staff-resolve-confirm');
      await page.click('#confirm-form button');
      await page.waitForLoadState();
      expect(await page.textContent('.govuk-notification-banner')).toContain('The case has been resolved');
      expect(await page.textContent('main')).toContain('Resolved');
      // Plain words, not codes; the console's own frame.
      expect(await page.textContent('main')).toContain('Identity not checked thoroughly enough');
      expect(await page.textContent('main')).not.toContain('level_not_met');
      expect(await page.textContent('header')).toContain('Support console');
      expect(await page.locator('.govuk-phase-banner').count()).toBe(0);
      await check(page, 'staff-case-resolved');
    } finally {
      await context.close();
    }
  });

  it('an agent is refused a supervisor\'s action (assigning a case), and the refusal is audited', async () => {
    const { context, page } = await enrolAndSignIn('agent', 'Alex Agent');
    try {
      // The case is not assigned to this agent: it is not in their queue and its page is refused.
      expect(await page.textContent('main')).not.toContain(ref);
      const opened = await page.goto(`${fed.issuer}/support/staff/cases/${ref}`);
      expect(opened?.status()).toBe(403);
      expect(await page.textContent('main')).toContain('You cannot do that');
      expect(await page.textContent('main')).not.toContain('Stuck at the last step');
      await check(page, 'staff-forbidden');
      expect(await page.$('#assign-form')).toBeNull();
      const csrf = await page.getAttribute('form[action="/support/staff/sign-out"] input[name=csrf]', 'value');
      const response = await page.request.post(`${fed.issuer}/support/staff/cases/${ref}/assign`, { form: { csrf: csrf!, staff: 'someone' } });
      expect(response.status()).toBe(403);
      await page.setContent(await response.text());
      const denied = (await fed.brokers[0]!.audit.list({ caseRef: ref })).filter((e) => e.type === 'staff.denied');
      expect(denied.slice(-2).map((e) => e.data)).toMatchObject([
        { action: 'view', role: 'agent' },
        { action: 'assign', role: 'agent' },
      ]);
    } finally {
      await context.close();
    }
  });
});
