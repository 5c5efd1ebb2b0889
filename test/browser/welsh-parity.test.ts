/**
 * Welsh everywhere a citizen goes (issue 14), in Chromium: every page of the example service, the
 * IdP stub and the broker's citizen pages is visited in English and in Welsh (each language's
 * toggle, ?lang=), checked with axe in both, and the test fails on any visible text of the Welsh
 * page (text nodes, the title, aria-labels) that also appears verbatim on the English one, except a
 * small allowlist of proper names and references. The new flows (the service's two tasks, the
 * stub's "choose another identity provider") are driven by keyboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { loadIdentities } from '@idbroker/idp-stub';
import { checkPage, withPage } from './chromium.js';
import { startServiceFederation, type ServiceFederation } from './service-federation.js';

/** Proper names and references that are the same in both languages (and nothing else). */
function allowlist(setup: ServiceFederation): (text: string) => boolean {
  const policies = setup.fed.brokers[0]!.policies;
  const names = new Set<string>([
    'English', 'Cymraeg', // the language toggle names each language in itself
    'Beta', // the phase tag
    ...policies.identityProviders.map((p) => p.display_name),
    ...policies.walletProviders.map((p) => p.display_name),
  ]);
  // Values of the demo people (their own names, addresses): the same in any language.
  const people = new Set<string>();
  for (const i of loadIdentities()) {
    const values = [i.given_name, i.family_name, `${i.given_name} ${i.family_name}`, i.address.street_address, i.address.locality, i.address.postal_code];
    for (const v of values) if (v) people.add(v);
  }
  const patterns = [
    /^[0-9A-Z]{4}(-[0-9A-Z]{1,4}){2,3}$/, // journey and case references
    /^CT-\d{6}$/, // council account references
    /^£[\d,.]+$/, // money
    /^\d+$/, // numbers, the demo one-time code
    /^[A-H]$/, // a council tax band
    /^[^\p{L}]+$/u, // punctuation only
    /^\S+@\S+$/, // email-like values
  ];
  return (text) => names.has(text) || people.has(text) || patterns.some((p) => p.test(text));
}

/** What a person sees or hears on the page: visible text nodes, the title, and aria-labels. */
async function texts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [document.title.replace(/\s+/g, ' ').trim()];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = (n.textContent ?? '').replace(/\s+/g, ' ').trim();
      const el = n.parentElement;
      if (!text || !el || el.closest('script, style, noscript, template')) continue;
      if (!el.checkVisibility()) continue;
      out.push(text);
    }
    for (const el of Array.from(document.querySelectorAll('[aria-label]'))) out.push(el.getAttribute('aria-label')!.trim());
    return out.filter(Boolean);
  });
}

describe('Welsh parity in Chromium: service, IdP stub and broker', () => {
  let setup: ServiceFederation;
  let allowed: (text: string) => boolean;
  let base: string;
  const checked: string[] = [];
  beforeAll(async () => {
    setup = await startServiceFederation();
    base = setup.base;
    allowed = allowlist(setup);
  }, 120_000);
  afterAll(async () => {
    await setup?.close();
  });

  /**
   * The page the browser is on, in English then in Welsh (left in Welsh): axe in both, and no
   * Welsh text that is also on the English page unless allowlisted.
   */
  async function parity(page: Page, name: string): Promise<void> {
    const url = new URL(page.url());
    url.searchParams.set('lang', 'en');
    await page.goto(url.href);
    expect(await page.getAttribute('html', 'lang'), `${name} in English`).toBe('en');
    await checkPage(page, `${name}-en`);
    const english = new Set(await texts(page));
    url.searchParams.set('lang', 'cy');
    await page.goto(url.href);
    expect(await page.getAttribute('html', 'lang'), `${name} in Welsh`).toBe('cy');
    await checkPage(page, `${name}-cy`);
    compare(name, english, await texts(page));
    await serviceNameAtMostThrice(page, name);
  }

  function compare(name: string, english: Set<string>, welsh: string[]): void {
    expect(welsh.length, name).toBeGreaterThan(3);
    expect(welsh.filter((t) => english.has(t) && !allowed(t)), `English-only text on the Welsh ${name}`).toEqual([]);
    checked.push(name);
  }

  /** The copy nit of issue 14: the service's name said over and over. At most three times a page. */
  async function serviceNameAtMostThrice(page: Page, name: string): Promise<void> {
    const rp = setup.fed.brokers[0]!.policies.relyingParties.find((r) => r.client_id === 'example-council-tax')!;
    const body = (await page.textContent('body')) ?? '';
    for (const serviceName of [rp.display_name, rp.cy?.display_name ?? rp.display_name]) {
      expect(body.split(serviceName).length - 1, `"${serviceName}" on ${name}`).toBeLessThanOrEqual(3);
    }
  }

  /**
   * A page only reached by a form (an error re-render, a step shown by POST): from the GET page the
   * browser is on, set each language with its toggle, then `act`; compare what `act` leads to.
   */
  async function parityAfter(page: Page, name: string, act: () => Promise<void>): Promise<void> {
    const from = new URL(page.url());
    const seen: Partial<Record<'en' | 'cy', string[]>> = {};
    for (const lang of ['en', 'cy'] as const) {
      from.searchParams.set('lang', lang);
      await page.goto(from.href);
      await act();
      expect(await page.getAttribute('html', 'lang'), `${name} in ${lang}`).toBe(lang);
      await checkPage(page, `${name}-${lang}`);
      seen[lang] = await texts(page);
    }
    compare(name, new Set(seen.en), seen.cy!);
    from.searchParams.set('lang', 'cy');
    await page.goto(from.href);
  }

  async function focused(page: Page): Promise<string> {
    return page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? `${el.tagName.toLowerCase()}#${el.id}[${el.getAttribute('name') ?? ''}] ${(el.textContent ?? '').trim().slice(0, 60)}` : '';
    });
  }
  async function tabTo(page: Page, match: RegExp, max = 40): Promise<void> {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      if (match.test(await focused(page))) return;
    }
    throw new Error(`never reached ${match} with Tab (last: ${await focused(page)})`);
  }

  async function choose(page: Page, idp: string): Promise<void> {
    await page.check(`input[name=provider][value=${idp}]`);
    await page.click('#provider-form button[type=submit]');
    await page.waitForURL(new RegExp(`^${setup.fed.idps[idp]!.url}`));
  }
  async function signIn(page: Page, username: string): Promise<void> {
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', 'demo-password');
    await page.click('#sign-in button[type=submit]');
    await page.waitForLoadState();
  }
  /** The service's account task in Welsh, Civic ID chosen at the broker, and signed in there. */
  async function toCivicIdInWelsh(page: Page, username: string): Promise<void> {
    await page.goto(`${base}/?lang=cy`);
    await page.click('a.button[href="/login"]');
    await page.waitForURL(/\/journey\/[^/?]+$/);
    await choose(page, 'civic-id');
    await signIn(page, username);
  }

  async function code(page: Page): Promise<void> {
    await page.fill('input[name=code]', (await page.textContent('[data-testid=demo-code]'))!.trim());
    await page.click('#code-form button[type=submit]');
    await page.waitForLoadState();
  }

  it('the example service: start page (two tasks), page not found, an expired result', async () => {
    await withPage(setup.browser, async (page) => {
      await page.goto(`${base}/`);
      await parity(page, 'service-start');
      await page.goto(`${base}/no-such-page`);
      await parity(page, 'service-not-found');
      await page.goto(`${base}/result/gone`);
      await parity(page, 'service-result-expired');
      // The stub's own page for setting up a passkey (its sign-in).
      await page.goto(new URL('/passkeys', setup.fed.idps['civic-id']!.url).href);
      await parity(page, 'stub-passkeys-sign-in');
    });
  });

  /** From the service's Welsh start page to the stub's sign-in page for the bill, by keyboard. */
  async function billByKeyboard(page: Page, check: boolean): Promise<string> {
    await page.goto(`${base}/?lang=cy`);
    await tabTo(page, /^a#.*Gweld eich bil/);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/journey\/[^/?]+$/);
    expect(await page.getAttribute('html', 'lang')).toBe('cy');
    const picker = page.url().split('?')[0]!;
    if (check) {
      await parity(page, 'broker-picker-p1');
      await page.goto(`${picker}/other-ways`);
      await parity(page, 'broker-other-ways');
      await page.goto(picker);
    }
    // Keyboard: to the radios, arrows to Community Vouch (which selects it), then Continue.
    await tabTo(page, /^input#.*\[provider\]/);
    for (let i = 0; i < 6 && (await page.evaluate(() => (document.activeElement as HTMLInputElement).value)) !== 'community-vouch'; i++) await page.keyboard.press('ArrowDown');
    expect(await page.isChecked('input[name=provider][value=community-vouch]')).toBe(true);
    await tabTo(page, /^button.*Parhau/);
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`^${setup.fed.idps['community-vouch']!.url}`));
    expect(await page.getAttribute('html', 'lang')).toBe('cy'); // ui_locales=cy from the broker
    return page.url();
  }

  it('the bill in Welsh, by keyboard from the service to Community Vouch: picker, other ways, stub sign-in, stub 404', async () => {
    await withPage(setup.browser, async (page) => {
      const interaction = await billByKeyboard(page, true);
      await parity(page, 'stub-sign-in');
      await parityAfter(page, 'stub-sign-in-error', async () => {
        await page.click('#sign-in button[type=submit]');
        await page.waitForSelector('.error-summary');
      });
      await page.goto(new URL('/no-such-page', interaction).href);
      await parity(page, 'stub-not-found');
    });
  });

  it('Sam views his bill through Community Vouch: consent, result, and the stub after Back', async () => {
    await withPage(setup.browser, async (page) => {
      const interaction = await billByKeyboard(page, false);
      await signIn(page, 'sam');
      await page.waitForURL(/\/consent$/);
      await parity(page, 'broker-consent-p1');
      await page.click('button[value=approve]');
      await page.waitForURL(/\/result\/[\w-]+$/);
      expect(await page.textContent('main')).toContain('CT-101552');
      await parity(page, 'service-bill');
      // Back to the provider's finished sign-in: its "session ended" page leads to the broker.
      await page.goto(interaction);
      await parity(page, 'stub-session-ended');
      expect(await page.getAttribute('main a', 'href')).toBe(new URL('/journey/resume', setup.fed.issuer).href);
    });
  });

  it('the account task\'s picker (P2), and its error when no provider is chosen', async () => {
    await withPage(setup.browser, async (page) => {
      await page.goto(`${base}/?lang=cy`);
      await page.click('a.button[href="/login"]');
      await page.waitForURL(/\/journey\/[^/?]+$/);
      await parity(page, 'broker-picker-p2');
      await parityAfter(page, 'broker-picker-error', async () => {
        await page.click('#provider-form button[type=submit]');
        await page.waitForSelector('.govuk-error-summary');
      });
      // The wallet's page at the broker (open the wallet, or scan the code).
      await page.check('input[name=provider][value=digital-wallet]');
      await page.click('#provider-form button[type=submit]');
      await page.waitForURL(/\/journey\/[^/?]+\/wallet$/);
      await parity(page, 'broker-wallet');
    });
  });

  it('Margaret: the stub\'s second step, and "choose another identity provider" by keyboard back to the picker with its notice', async () => {
    await withPage(setup.browser, async (page) => {
      await toCivicIdInWelsh(page, 'margaret');
      await parity(page, 'stub-second-step');
      // With JavaScript on, the sentence that a passkey needs JavaScript is not shown.
      expect(await page.locator('text=mae angen i JavaScript fod ymlaen').count()).toBe(0);
      await tabTo(page, /^a#.*Dewis darparwr hunaniaeth arall/);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/journey\/[^/?]+\?stopped=civic-id$/);
      expect(await page.textContent('#stopped')).toContain('Ni wnaethoch orffen profi pwy ydych chi gyda Civic ID');
      await parity(page, 'broker-picker-stopped');
    });
  });

  it('Margaret sees her account in Welsh: consent, the account with its date in Welsh; without JavaScript the passkey sentence shows', async () => {
    await withPage(setup.browser, async (page) => {
      await toCivicIdInWelsh(page, 'margaret');
      await code(page);
      await page.waitForURL(/\/consent$/);
      await parity(page, 'broker-consent-p2');
      await page.click('button[value=approve]');
      await page.waitForURL(/\/result\/[\w-]+$/);
      expect(await page.textContent('main')).toContain('14 Mawrth 1958');
      await parity(page, 'service-account');
    });
    // Without JavaScript the sentence is there.
    await withPage(
      setup.browser,
      async (page) => {
        await toCivicIdInWelsh(page, 'margaret');
        expect(await page.locator('p.no-js').isVisible()).toBe(true);
        expect(await page.textContent('p.no-js')).toContain('mae angen i JavaScript fod ymlaen');
      },
      { javaScriptEnabled: false },
    );
  });

  it('Sam asks to see his account: level not met, a support case, the service\'s failure page offering the bill', async () => {
    await withPage(setup.browser, async (page) => {
      await toCivicIdInWelsh(page, 'sam');
      await code(page);
      await page.waitForURL(/\/failure$/);
      await parity(page, 'broker-failure-level-not-met');
      await parityAfter(page, 'broker-case-create', async () => {
        await page.click('#help-form button');
        await page.waitForSelector('textarea');
      });
      await page.click('#help-form button');
      await page.waitForSelector('textarea');
      await page.click('#help-form button');
      await page.waitForURL(/\/failure$/);
      await parity(page, 'broker-case-created');
      await page.click('#return-form button');
      await page.waitForURL(/\/result\/[\w-]+$/);
      expect(await page.locator('a[href="/login?task=bill"]').count()).toBe(1);
      await parity(page, 'service-failure');
    });
  });

  it('Dylan is asked for one more detail (the broker\'s extra-attribute page and its error)', async () => {
    await withPage(setup.browser, async (page) => {
      await toCivicIdInWelsh(page, 'dylan');
      await code(page);
      await page.waitForURL(/\/consent$/);
      await page.click('button[value=approve]');
      await page.waitForURL(/\/extra$/);
      await parity(page, 'broker-extra-attribute');
      await parityAfter(page, 'broker-extra-attribute-error', async () => {
        await page.fill('input[name=value]', 'not a number');
        await page.click('form button:not([value=skip])');
        await page.waitForSelector('.govuk-error-summary');
      });
    });
  });

  it('the broker\'s case status and record look-up pages', async () => {
    await withPage(setup.browser, async (page) => {
      await page.goto(new URL('/support/case', setup.fed.issuer).href);
      await parity(page, 'broker-case-status');
      await parityAfter(page, 'broker-case-status-error', async () => {
        await page.click('main form button');
        await page.waitForSelector('.govuk-error-summary');
      });
      await page.goto(new URL('/record', setup.fed.issuer).href);
      await parity(page, 'broker-record');
      await parityAfter(page, 'broker-record-error', async () => {
        await page.click('main form button');
        await page.waitForSelector('.govuk-error-summary');
      });
    });
  });

  it('covered every page state listed', () => {
    expect(checked.length).toBeGreaterThanOrEqual(20);
  });
});
